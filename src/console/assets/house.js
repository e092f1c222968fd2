// meterline: the house manager's page (docs/house-entry.md). Filters the
// list of houses; on a house: digits only, at most the meter's capacity,
// the filled/empty count, the previous readings toggle, values kept in
// localStorage until the server has answered for them, and "Отправить"
// as one request with a batch id (the same id again on a retry, so the
// server applies it once). No inline scripts (the CSP forbids them).
"use strict";
(function () {
  function $(id) { return document.getElementById(id); }

  // ---- the list of houses: filter as you type ----
  function filterHouses() {
    var s = $("street").value.trim().toLowerCase();
    var n = $("number").value.trim().toLowerCase();
    var items = $("houses").children;
    for (var i = 0; i < items.length; i++) {
      var li = items[i];
      var ok = li.dataset.street.toLowerCase().indexOf(s) >= 0 &&
        li.dataset.number.toLowerCase().indexOf(n) === 0;
      li.hidden = !ok;
    }
  }
  if ($("houses")) {
    $("street").addEventListener("input", filterHouses);
    $("number").addEventListener("input", filterHouses);
    $("house-search").addEventListener("submit", function (e) {
      e.preventDefault();
    });
  }

  var form = $("house-form");
  if (!form) return;

  // ---- one house ----
  var key = "ml-house:" + form.dataset.user + ":" + form.dataset.house;
  var inputs = form.querySelectorAll("input[data-digits]");
  var state;

  function newBatch() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (x) {
      return (x + 256).toString(16).slice(1);
    }).join("");
  }
  function load() {
    try { state = JSON.parse(localStorage.getItem(key)); } catch (e) { state = null; }
    if (!state || typeof state !== "object") state = {};
    if (!state.batch) state.batch = newBatch();
    if (!state.values) state.values = {};
  }
  function save() {
    try { localStorage.setItem(key, JSON.stringify(state)); } catch (e) { /* full */ }
  }
  function setStatus(text, kind) {
    var s = $("status");
    s.textContent = text;
    s.className = "status " + (kind || "");
  }
  function count() {
    var filled = 0;
    for (var i = 0; i < inputs.length; i++) if (inputs[i].value !== "") filled++;
    $("count").textContent = "Заполнено " + filled + " из " + inputs.length +
      ", пусто " + (inputs.length - filled);
    return inputs.length - filled;
  }

  // Only digits, at most the capacity: anything else is refused as typed.
  function onInput(e) {
    var el = e.target;
    var max = +el.dataset.digits;
    var v = el.value.replace(/[^0-9]/g, "");
    var refused = v !== el.value || v.length > max;
    if (v.length > max) v = v.slice(0, max);
    el.value = v;
    el.classList.toggle("refused", refused);
    if (refused) el.title = "Только цифры, не больше " + max;
    if (v === "") delete state.values[el.name];
    else state.values[el.name] = v;
    save();
    count();
  }

  function showPrev(on) {
    $("flats").classList.toggle("show-prev", on);
    $("show-prev").checked = on;
  }

  var items = {}; // contract -> its li, built once (500 lookups per answer)
  form.querySelectorAll("li.flat").forEach(function (li) {
    items[li.dataset.contract] = li;
  });
  function itemOf(contract) { return items[contract]; }

  // The server's answer: each apartment marked; accepted ones are done.
  function showResults(res) {
    var n = { accepted: 0, review: 0, rejected: 0, invalid: 0, retry: 0 };
    res.results.forEach(function (x) {
      var li = itemOf(x.contract);
      if (!li) return;
      n[x.status] = (n[x.status] || 0) + 1;
      li.className = "flat st-" + x.status;
      li.querySelector(".result").textContent = x.message;
      var done = x.status === "accepted" || x.status === "review";
      li.querySelectorAll("input").forEach(function (el) {
        el.readOnly = done;
        if (done) delete state.values[el.name];
      });
    });
    state.batch = newBatch();
    save();
    var bad = n.rejected + n.invalid + n.retry;
    setStatus("Принято: " + (n.accepted + n.review) + ". Не принято: " + bad +
      (n.rejected + n.invalid ? " — исправьте отмеченные и отправьте снова."
        : n.retry ? " — не сохранено, отправьте ещё раз." : "."),
      bad ? "err" : "ok");
    var first = form.querySelector("li.st-rejected input, li.st-invalid input, li.st-retry input");
    if (first) first.scrollIntoView({ block: "center" });
  }

  function send() {
    var body = new URLSearchParams();
    body.append("csrf", form.querySelector("input[name=csrf]").value);
    body.append("house", form.dataset.house);
    body.append("batch", state.batch);
    var any = false;
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].value !== "" && !inputs[i].readOnly) {
        body.append(inputs[i].name, inputs[i].value);
        any = true;
      }
    }
    if (!any) { setStatus("Нечего отправлять: поля пусты.", "err"); return; }
    $("send").disabled = true;
    setStatus("Отправка…", "");
    fetch("/house/submit", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) throw new Error("Сессия истекла: войдите снова. Значения сохранены на телефоне.");
        if (r.status === 403) throw new Error("Нет доступа к этому дому.");
        if (!r.ok) throw new Error("Сервер не принял отправку (" + r.status + "). Значения сохранены; отправьте ещё раз.");
        return r.json();
      })
      .then(showResults)
      .catch(function (e) {
        setStatus(e instanceof TypeError
          ? "Нет связи с сервером. Значения сохранены на телефоне; нажмите «Отправить» ещё раз."
          : e.message, "err");
      })
      .finally(function () { $("send").disabled = false; });
  }

  load();
  for (var i = 0; i < inputs.length; i++) {
    var v = state.values[inputs[i].name];
    if (v) inputs[i].value = v;
    inputs[i].addEventListener("input", onInput);
  }
  showPrev(!!state.prev);
  $("show-prev").addEventListener("change", function () {
    state.prev = $("show-prev").checked;
    showPrev(state.prev);
    save();
  });
  count();
  if (Object.keys(state.values).length) setStatus("Восстановлены несохранённые значения.", "");

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (count() > 0) {
      $("confirm").hidden = false;
      $("confirm-back").focus();
      return;
    }
    send();
  });
  $("confirm-back").addEventListener("click", function () {
    $("confirm").hidden = true;
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].value === "") { inputs[i].focus(); break; }
    }
  });
  $("confirm-send").addEventListener("click", function () {
    $("confirm").hidden = true;
    send();
  });
})();
