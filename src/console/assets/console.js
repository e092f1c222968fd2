// meterline console: the only script. Forms marked data-confirm ask first.
// Everything works without it; no inline scripts (the CSP forbids them).
"use strict";
document.addEventListener("submit", function (e) {
  var f = e.target;
  var q = f.getAttribute && f.getAttribute("data-confirm");
  if (q && !window.confirm(q)) e.preventDefault();
});
