#!/usr/bin/env python3
"""Builds russia-japan-sample.warc.gz from the pages in pages/ (standard library only).

Each record is its own gzip member, as in Common Crawl. The archive holds a warcinfo record,
a request record, one response record per page (one of them chunked and gzip-encoded, as
servers send them), and an image response that the reader must skip.
"""
import gzip
import pathlib
import uuid

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "russia-japan-sample.warc.gz"
DATE = "2019-06-02T00:00:00Z"

# (page file, target URI, Content-Type header sent, transfer style)
RECORDS = [
    ("en-lavrov-kono-talks.html", "https://pacificwire.example/world/2019/05/lavrov-kono-peace-treaty", "text/html; charset=utf-8", "gzip-chunked"),
    ("ru-kurils-former-residents.html", "https://vostok-vesti.example/news/2019/07/20/kurily", "text/html", "plain"),
    ("ja-foreign-ministers.html", "https://hokkai-news.example/seiji/20190531-nichiro", "text/html; charset=Shift_JIS", "plain"),
    ("en-asian-markets.html", "https://marketdesk.example/2019/06/03/asia-shares", "text/html; charset=utf-8", "plain"),
    ("en-wire-copy.html", "https://gulfpost.example/asia/kuril-islands-background", "text/html; charset=utf-8", "plain"),
]


def record(warc_type, uri, content_type, payload):
    headers = [
        "WARC/1.0",
        f"WARC-Type: {warc_type}",
        f"WARC-Record-ID: <urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, warc_type + (uri or ''))}>",
        f"WARC-Date: {DATE}",
    ]
    if uri:
        headers.append(f"WARC-Target-URI: {uri}")
    headers += [f"Content-Type: {content_type}", f"Content-Length: {len(payload)}"]
    return gzip.compress(("\r\n".join(headers) + "\r\n\r\n").encode() + payload + b"\r\n\r\n", mtime=0)


def http_response(body, content_type, style):
    head = ["HTTP/1.1 200 OK", f"Content-Type: {content_type}"]
    if style == "gzip-chunked":
        body = gzip.compress(body, mtime=0)
        half = len(body) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:half], body[half:]))
        body = chunks + b"0\r\n\r\n"
        head += ["Content-Encoding: gzip", "Transfer-Encoding: chunked"]
    else:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def main():
    out = [record("warcinfo", None, "application/warc-fields", b"software: nichiro sample builder\r\nformat: WARC File Format 1.0\r\n")]
    for name, uri, content_type, style in RECORDS:
        body = (HERE / "pages" / name).read_bytes()
        out.append(record("request", uri, "application/http; msgtype=request", f"GET / HTTP/1.1\r\nHost: {uri.split('/')[2]}\r\n\r\n".encode()))
        out.append(record("response", uri, "application/http; msgtype=response", http_response(body, content_type, style)))
    image = b"\x89PNG\r\n\x1a\n" + bytes(64)
    out.append(record("response", "https://pacificwire.example/img/talks.png", "application/http; msgtype=response", http_response(image, "image/png", "plain")))
    OUT.write_bytes(b"".join(out))
    print("wrote", OUT.name, len(b"".join(out)), "bytes,", len(RECORDS), "pages")


if __name__ == "__main__":
    main()
