#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/NAME/).

The seeds are committed; this script says where they came from and
rewrites them: python3 tests/fuzz/make_seeds.py. corpus/text_parse/ is
hand-made and left alone.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cstr(s):
    return s.encode() + b"\0"


def tlv(tag, value):
    return struct.pack(">HH", tag, len(value)) + value


def pdu(cmd, body=b"", status=0, seq=1):
    return struct.pack(">IIII", 16 + len(body), cmd, status, seq) + body


def sm_body(src, dst, ud, dcs=0, esm=0, tlvs=b"", payload=False):
    b = cstr("") + bytes([1, 1]) + cstr(src) + bytes([1, 1]) + cstr(dst)
    b += bytes([esm, 0, 0]) + cstr("") + cstr("") + bytes([0, 0, dcs, 0])
    if payload:
        b += bytes([0]) + tlv(0x0424, ud)
    else:
        b += bytes([len(ud)]) + ud
    return b + tlvs


def smpp_seeds():
    ucs2 = "ПС 123859 11638".encode("utf-16-be")
    udh8 = bytes([5, 0, 3, 0x2A, 2, 1])
    udh16 = bytes([6, 8, 4, 0x12, 0x34, 3, 2])
    sar = tlv(0x020C, b"\x00\x07") + tlv(0x020E, b"\x02") + tlv(0x020F, b"\x01")
    receipt = tlv(0x001E, b"abc123\0") + tlv(0x0427, b"\x02")
    pdus = {
        "deliver_gsm": pdu(5, sm_body("79001234567", "1234", b"PS 123859 11638")),
        "deliver_ucs2": pdu(5, sm_body("79001234567", "1234", ucs2, dcs=8)),
        "deliver_udh8": pdu(5, sm_body("79001234567", "1234", udh8 + ucs2, dcs=8, esm=0x40)),
        "deliver_udh16": pdu(5, sm_body("79001234567", "1234", udh16 + b"PS 1", esm=0x40)),
        "deliver_sar": pdu(5, sm_body("79001234567", "1234", b"PS 123859", tlvs=sar)),
        "deliver_payload": pdu(5, sm_body("79001234567", "1234", ucs2 * 20, dcs=8, payload=True)),
        "deliver_receipt": pdu(5, sm_body("79001234567", "1234", b"id:abc123 stat:DELIVRD", esm=4, tlvs=receipt)),
        "deliver_latin1": pdu(5, sm_body("79001234567", "1234", "PS 1 é".encode("latin-1"), dcs=3)),
        "submit_sm": pdu(4, sm_body("1234", "79001234567", b"Thanks", dcs=0)),
        "data_sm": pdu(0x103, cstr("") + bytes([1, 1]) + cstr("79001234567") + bytes([1, 1]) + cstr("1234") + bytes([0, 0, 0]) + tlv(0x0424, b"PS 5")),
        "submit_sm_resp": pdu(0x80000004, cstr("msg-0001")),
        "submit_sm_resp_throttled": pdu(0x80000004, status=0x58),
        "bind_trx": pdu(9, cstr("meterline") + cstr("secret") + cstr("") + bytes([0x34, 1, 1]) + cstr("")),
        "bind_trx_resp": pdu(0x80000009, cstr("smsc") + tlv(0x0210, b"\x34")),
        "enquire_link": pdu(0x15),
        "unbind": pdu(6),
        "generic_nack": pdu(0x80000000, status=3),
        "deliver_bad_udh": pdu(5, sm_body("7900", "1", bytes([9, 0, 3, 1]), esm=0x40)),
    }
    for name, p in pdus.items():
        put("smpp_pdu", name, p)
    frames = [
        ("stream_whole", b"\x00" + pdus["deliver_gsm"] + pdus["enquire_link"] + pdus["submit_sm_resp"]),
        ("stream_bytes", b"\x01" + pdus["deliver_ucs2"] + pdus["deliver_udh8"]),
        ("stream_7", b"\x07" + pdus["bind_trx_resp"] + pdus["deliver_payload"]),
        ("stream_bad_len", b"\x05" + pdus["enquire_link"] + struct.pack(">IIII", 8, 0x15, 0, 9)),
        ("stream_huge_len", b"\x00" + struct.pack(">IIII", 100000, 5, 0, 2)),
        ("stream_partial", b"\x03" + pdus["deliver_sar"][:-5]),
    ]
    for name, f in frames:
        put("smpp_frame", name, f)


def part(op, ref, total, seq, dcs, ud, arg=0):
    return bytes([op, ref >> 8, ref & 255, total, seq, dcs, len(ud), arg]) + ud


def concat_seeds():
    a, b = "ПС 1238".encode("utf-16-be"), "59 11638".encode("utf-16-be")
    put("smpp_concat", "two_parts", part(0, 42, 2, 1, 8, a) + part(0, 42, 2, 2, 8, b))
    put("smpp_concat", "reversed", part(8, 300, 2, 2, 0, b"59") + part(8, 300, 2, 1, 0, b"PS 1238"))
    put("smpp_concat", "duplicate", part(16, 7, 3, 1, 0, b"a") + part(16, 7, 3, 1, 0, b"a") + part(16, 7, 3, 2, 0, b"b") + part(16, 7, 3, 3, 0, b"c"))
    put("smpp_concat", "expire", part(1, 9, 3, 1, 0, b"x" * 100) + part(0x61, 9, 3, 2, 0, b"y", arg=10))
    put("smpp_concat", "many_groups", b"".join(part(i & 7, i, 2, 1, 0, b"z" * 200) for i in range(12)))
    put("smpp_concat", "forget", part(0x80, 5, 2, 1, 0, b"q") + part(0, 5, 2, 2, 0, b"r"))
    put("smpp_concat", "group_bound", b"".join(part(2, 77, 5, i, 8, b"\x04\x1f" * 127) for i in range(1, 6)))


def http_seeds():
    ok = '{"id":"m-1","channel":"telegram","from":"tg-4821937","to":"bot","text":"ПС 123859 11638","timestamp":"2026-05-18T09:30:00.250+03:00"}'
    bodies = {
        "ok": ok,
        "ok_z": ok.replace("+03:00", "Z"),
        "missing": '{"id":"m-1","channel":"x"}',
        "dup_key": '{"id":"a","id":"b"}',
        "bad_channel": ok.replace("telegram", "sms"),
        "long_text": ok.replace("ПС 123859 11638", "1" * 300),
        "escapes": ok.replace("ПС", "\\u041f\\u0421\\n\\t"),
        "leap": ok.replace("2026-05-18T09:30:00.250", "2024-02-29T23:59:60"),
        "array": "[1,2,3]",
        "nul": '{"text":"a\\u0000b"}',
    }
    for name, body in bodies.items():
        put("http_msg", name, b"\x10" + body.encode())
    put("http_msg", "content_type", b"\x00application/json; charset=utf-8")
    put("http_msg", "unix_time", b"\x00" + b"1700000000")
    sigs = {
        "plain": "sha256=" + "0" * 64 + "\n\n" + ok,
        "with_ts": "sha256=" + "a" * 64 + "\n1700000000\n" + ok,
        "upper": "SHA256=" + "F" * 64 + "\n1\n{}",
        "short": "sha256=abc\n\n{}",
        "other_scheme": "sha1=" + "0" * 40,
        "empty": "",
    }
    for name, s in sigs.items():
        put("http_sig", name, s)


def file_seeds():
    for name in ("meterline.conf",):
        with open(os.path.join(ROOT, "etc", name), "rb") as f:
            put("config", "etc_meterline.conf", f.read())
    put("config", "small", "[database]\nconninfo = host=/tmp dbname=meterline\n[smpp]\nhost = 127.0.0.1\nport = 2775\nsystem_id = m\npassword = p\n")
    put("config", "window", "[window]\ntimezone = Europe/Moscow\nopen_day = 15\nclose_day = 25\n")
    put("config", "errors", "[nosuch]\nkey = 1\n[smpp]\nport = 99999\nport = 1\nenquire_link_interval = 5x\n")
    put("config", "continuation", "[http]\nlisten = 127.0.0.1:8080\n  more\n; comment\n")
    for src, name in (("tests/data/contracts-sample.csv", "sample.csv"),
                      ("tests/e2e/contracts-latin.csv", "latin.csv")):
        with open(os.path.join(ROOT, src), "rb") as f:
            put("import_csv", name, f.read())
    hdr = "contract,resource,position,register,digits,last_value,last_date\n"
    put("import_csv", "quotes", hdr + '"123859",electricity,1,"день ""Т1""",5,44800,2026-10-20\n')
    put("import_csv", "bad_lines", hdr + "12,gas,0,,3,x,2026-02-30\n123456,cold_water,1,вода,5,,\n" + "9" * 5000 + "\n")
    put("import_csv", "bom_crlf", "\ufeff" + hdr.replace("\n", "\r\n") + "123456,hot_water,1,гвс,6,1,2024-02-29\r\n")
    put("import_phones", "sample", "contract,phone\n102057522,+7 912 345-67-89\n123859,8 (900) 111-22-33\n"
        "12,79001112233\n123456,12345\n123456,7900,1\n")
    put("import_phones", "crlf_case", "Contract , PHONE\r\n176355,+79123456789\r\n\r\n")
    hh = "contract,city,street,number,apartment,serials\n"
    put("import_houses", "sample", hh + "102057522,Сыктывкар,Ленина,12,5,0123456;7788\n"
        "123859,Сыктывкар,Ленина,12,,A-17 B-18\n176355,Ухта,\"Мира\",3,1,\n")
    put("import_houses", "bad_lines", (hh + "12,a,b,c,d,e\n123456,,b,c,d,e\n123456,a\tb,c,d,e,f\n"
        "123456,a\u202eb,c,d,,\n" + "x" * 300 + ",a,b,c,d,e\n").encode() + b"123456,\xd0,b,c,,\n")
    up = ("XyZ\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n"
          "--XyZ\r\nContent-Disposition: form-data; name=\"log\"; filename=\"day24.jsonl\"\r\n"
          "Content-Type: application/octet-stream\r\n\r\n"
          '{"time":"2026-11-01T10:00:00+03:00","channel":"sms","from":"79001234567","to":"1234","text":"ПС 123859 11638"}\n'
          "line2\r\n--Xy\n\r\n--XyZ--\r\n")
    put("console_upload", "form", up)
    put("console_upload", "quoted_boundary", "a'b c\n--a'b c\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n--a'b c--")
    put("console_upload", "bad_utf8", b"B\n--B\r\nContent-Disposition: form-data; name=\"log\"; filename=\"x\"\r\n\r\nok\n\xd0\n\x00\r\n--B--\r\n")
    jl = ('{"time":"2026-11-01T10:00:00+03:00","channel":"sms","from":"79001234567","to":"1234","text":"ПС 123859 11638"}\n'
          '{"time":"2026-11-01T09:00:00Z","channel":"telegram","from":"tg-1","to":"bot","text":"25","id":"abc"}\n'
          '{"time":"bad","channel":1}\n\n[]\n')
    put("replay_read", "jsonl", b"\x00" + jl.encode())
    put("replay_read", "jsonl_forced", b"\x01" + jl.encode())
    csv = ("time,channel,from,to,text,id\n"
           '2026-11-01T10:00:00+03:00,sms,79001234567,1234,"ПС 123859, 11638",\n'
           '2026-11-01T10:00:00+03:00,sms,79001234567,1234,"two\nlines ""quoted""",x1\n'
           "2026-13-01T10:00:00Z,sms,1,2,bad month,\n")
    put("replay_read", "csv", b"\x00" + csv.encode())
    put("replay_read", "csv_forced", b"\x02" + csv.encode())
    put("replay_read", "csv_no_id", b"\x02time,channel,from,to,text\n2026-11-01T10:00:00Z,sms,1,2,x\n")


def messenger_seeds():
    """Op octet: bit 0 and bits 5-6 the adapter (0 Telegram, 1 MAX,
    2 Viber, 3 WhatsApp, 4 VK), bit 1 a platform answer, bits 2-4 its
    status (0 200, 1 400, 2 403, 3 404, 4 429, 5 500)."""
    tg = {
        "tg_text": '{"update_id":10,"message":{"message_id":1,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":42,"type":"private"},"date":1700000000,"text":"ПС 123859"}}',
        "tg_photo": '{"update_id":11,"message":{"message_id":2,"from":{"id":42},"chat":{"id":42,"type":"private"},"date":1,"photo":[{"file_id":"small","file_unique_id":"a","width":90,"height":90},{"file_id":"big","file_unique_id":"b","width":800,"height":800}],"caption":"ПС 1 2"}}',
        "tg_contact": '{"update_id":13,"message":{"message_id":4,"from":{"id":42},"chat":{"id":42,"type":"private"},"date":1,"contact":{"phone_number":"79120000001","first_name":"A","user_id":42}}}',
        "tg_start": '{"update_id":15,"message":{"message_id":6,"from":{"id":42},"chat":{"id":42,"type":"private"},"date":1,"text":"/start"}}',
        "tg_edit": '{"update_id":16,"edited_message":{"message_id":6,"from":{"id":42},"chat":{"id":42,"type":"private"},"date":1,"text":"x"}}',
        "tg_group": '{"update_id":17,"message":{"message_id":7,"from":{"id":42},"chat":{"id":-100,"type":"group"},"date":1,"text":"x"}}',
    }
    mx = {
        "max_text": '{"update_type":"message_created","timestamp":1700000000123,"message":{"sender":{"user_id":501,"name":"I","is_bot":false},"recipient":{"chat_id":9,"chat_type":"dialog","user_id":777},"timestamp":1700000000123,"body":{"mid":"mid.abc","seq":1,"text":"ПС 123859","attachments":[{"type":"image","payload":{"photo_id":1,"token":"t","url":"https://i.example/p.jpg"}}]}},"user_locale":"ru"}',
        "max_started": '{"update_type":"bot_started","timestamp":5000,"chat_id":9,"user":{"user_id":501,"name":"I"},"payload":null}',
        "max_chat": '{"update_type":"message_created","timestamp":1,"message":{"sender":{"user_id":501},"recipient":{"chat_id":9,"chat_type":"chat"},"timestamp":1,"body":{"mid":"m","text":"x"}}}',
        "max_removed": '{"update_type":"message_removed","timestamp":1,"message_id":"m"}',
    }
    for name, body in tg.items():
        put("messenger", name, b"\x00" + body.encode())
    for name, body in mx.items():
        put("messenger", name, b"\x01" + body.encode())
    put("messenger", "tg_ok", b"\x02" + b'{"ok":true,"result":{"message_id":99,"chat":{"id":42}}}')
    put("messenger", "tg_flood", bytes([2 | 4 << 2]) + b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}')
    put("messenger", "max_ok", b"\x03" + b'{"message":{"recipient":{"user_id":501},"body":{"mid":"mid.out","seq":2,"text":"ok"}}}')
    put("messenger", "max_404", bytes([3 | 3 << 2]) + b"{}")
    others_seeds()


def adapter_op(adapter, answer=False, status=0):
    """The first octet of a messenger input (see messenger_seeds)."""
    return bytes([(adapter & 1) | (adapter >> 1) << 5 | answer << 1 | status << 2])


def others_seeds():
    """Viber (2), WhatsApp (3) and VK (4): fuzz_messenger.c's config has
    VK group_id 12345, secret vk-secret, confirmation confirm-me."""
    vb = {
        "vb_text": '{"event":"message","timestamp":1457764197627,"chat_hostname":"SN-376_","message_token":4912661846655238145,"sender":{"id":"01234567890A=","name":"John","api_version":1},"message":{"type":"text","text":"ПС 123859","tracking_data":"t"},"silent":false}',
        "vb_picture": '{"event":"message","timestamp":1,"message_token":4912661846655238146,"sender":{"id":"01234567890A="},"message":{"type":"picture","text":"45055","media":"https://dl-media.viber.com/p.jpg"}}',
        "vb_sticker": '{"event":"message","timestamp":1,"message_token":7,"sender":{"id":"a"},"message":{"type":"sticker","sticker_id":1}}',
        "vb_started": '{"event":"conversation_started","timestamp":1,"message_token":8,"type":"open","context":"c","user":{"id":"0123="},"subscribed":false}',
        "vb_delivered": '{"event":"delivered","timestamp":1,"message_token":4912661846655238145,"user_id":"0123="}',
        "vb_failed": '{"event":"failed","timestamp":1,"message_token":9,"user_id":"0123=","desc":"x"}',
    }
    wa = {
        "wa_text": '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"12345"},"contacts":[{"profile":{"name":"A"},"wa_id":"79120000001"}],"messages":[{"from":"79120000001","id":"wamid.ABC","timestamp":"1700000000","type":"text","text":{"body":"ПС 123859"}}]},"field":"messages"}]}]}',
        "wa_image": '{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"12345"},"messages":[{"from":"79120000001","id":"wamid.IMG","timestamp":"1700000001","type":"image","image":{"id":"media-1","mime_type":"image/jpeg","caption":"45055"}}]},"field":"messages"}]}]}',
        "wa_button": '{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"from":"79120000001","id":"wamid.B","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"cancel","title":"Отмена"}}}]},"field":"messages"}]}]}',
        "wa_status": '{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"statuses":[{"id":"wamid.OUT","status":"delivered","timestamp":"1700000002","recipient_id":"79120000001"}]},"field":"messages"}]}]}',
    }
    vk = {
        "vk_confirm": '{"type":"confirmation","group_id":12345}',
        "vk_text": '{"group_id":12345,"type":"message_new","event_id":"a1b2c3","v":"5.199","object":{"message":{"date":1700000000,"from_id":501,"id":7,"out":0,"peer_id":501,"text":"ПС 123859","attachments":[{"type":"photo","photo":{"id":1,"sizes":[{"height":75,"width":56,"type":"s","url":"https://sun9-1.userapi.com/s.jpg"},{"height":604,"width":453,"type":"x","url":"https://sun9-1.userapi.com/x.jpg"}]}}]},"client_info":{}},"secret":"vk-secret"}',
        "vk_chat": '{"group_id":12345,"type":"message_new","event_id":"e2","object":{"message":{"date":1,"from_id":501,"peer_id":2000000001,"out":0,"text":"x"}},"secret":"vk-secret"}',
        "vk_typing": '{"group_id":12345,"type":"message_typing_state","event_id":"e3","object":{"state":"typing","from_id":501,"to_id":-12345},"secret":"vk-secret"}',
    }
    for adapter, bodies in ((2, vb), (3, wa), (4, vk)):
        for name, body in bodies.items():
            put("messenger", name, adapter_op(adapter) + body.encode())
    answers = {
        "vb_ok": (2, 0, '{"status":0,"status_message":"ok","message_token":5741311803571721087,"chat_hostname":"SN-CHAT-05_","billing_status":1}'),
        "vb_unsubscribed": (2, 0, '{"status":6,"status_message":"receiverNotSubscribed"}'),
        "vb_flood": (2, 0, '{"status":12,"status_message":"tooManyRequests"}'),
        "wa_ok": (3, 0, '{"messaging_product":"whatsapp","contacts":[{"input":"79120000001","wa_id":"79120000001"}],"messages":[{"id":"wamid.HBgL"}]}'),
        "wa_window": (3, 1, '{"error":{"message":"Re-engagement message","type":"OAuthException","code":131047,"fbtrace_id":"x"}}'),
        "wa_rate": (3, 1, '{"error":{"code":130429}}'),
        "vk_ok": (4, 0, '{"response":731}'),
        "vk_error": (4, 0, '{"error":{"error_code":901,"error_msg":"Can\'t send messages for users without permission"}}'),
        "vk_flood": (4, 0, '{"error":{"error_code":6,"error_msg":"Too many requests per second"}}'),
    }
    for name, (adapter, status, body) in answers.items():
        put("messenger", name, adapter_op(adapter, True, status) + body.encode())


smpp_seeds()
concat_seeds()
messenger_seeds()
http_seeds()
file_seeds()
