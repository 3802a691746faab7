"""Tests of python_tools/datasets.py that need no network, npm or R.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import stat
import tarfile
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load(name, filename):
    # Loaded by path under a private name: `import datasets` from the repo root would find the
    # C++ datasets/ folder as a namespace package.
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ds = _load("recur_datasets", "datasets.py")

RS = "\x1e"


def crlf(text):
    return text.replace("\n", "\r\n")


# ------------------------------------------------------------------------------ samples

PLAIN = b"""From alice@example.org  Thu Aug 22 12:36:23 2002
Return-Path: <alice@example.org>
From: Alice <alice@example.org>
To: bob@example.org
Subject: Lunch
Date: Thu, 22 Aug 2002 12:36:23 +0100
Message-ID: <1@example.org>

Hi Bob,

Lunch at noon?
  -- Alice
"""

QP_LATIN1 = b"""From: Claire <c@example.fr>
Subject: =?iso-8859-1?q?caf=E9?=
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Un caf=E9 na=EFf co=FBte 2 =A3, une tr=E8s longue ligne coup=E9e par un saut =
doux.
=93Guillemets=94 de Windows.
"""

QP_UTF8 = b"""From: x@example.org
Subject: utf8
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe =E2=80=94 =E6=97=A5=E6=9C=AC
"""

MULTIPART = b"""From: carol@example.org
To: dave@example.org
Subject: report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="OUTER"

This is a multi-part message in MIME format.

--OUTER
Content-Type: multipart/alternative; boundary="INNER"

--INNER
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The report is attached.
See you.

--INNER
Content-Type: text/html; charset=us-ascii

<html><body><p>The <b>HTML</b> version must not appear.</p></body></html>

--INNER--

--OUTER
Content-Type: application/octet-stream; name="report.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.bin"

U0VDUkVUIEFUVEFDSE1FTlQgQllURVM=

--OUTER
Content-Type: text/plain; charset=us-ascii; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

ATTACHED TEXT FILE
--OUTER--
"""

HTML_ONLY = b"""From: news@example.com
Subject: newsletter
MIME-Version: 1.0
Content-Type: text/html; charset=iso-8859-1

<html><head><title>Title text</title><style>p { color: red }</style></head>
<body><script>var x = 1;</script><h1>News &amp; notes</h1><p>First   para,
wrapped.</p><p>Caf\xe9&nbsp;ol&eacute;<br>next line</p><!-- a comment --></body></html>
"""

BASE64_UTF8 = b"""From: y@example.org
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

""" + __import__("base64").encodebytes("Ça marche: ☃ and “quotes”.\n".encode("utf-8"))

ONLY_ATTACHMENT = b"""From: z@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="a.png"

iVBORw0KGgo=
--B--
"""


class CleanTextTest(unittest.TestCase):
    def test_newlines_normalised(self):
        self.assertEqual(ds.clean_text("a\r\nb\rc\x0bd\x0ce\u2028f\u2029g"),
                         "a\nb\nc\nd\ne\nf\ng")

    def test_controls_stripped_except_tab_and_newline(self):
        text = "a\x00b\x01c\x07d\x1be\x1ef\x1fg\x7fh\x85i\x9fj\tk\nl"
        self.assertEqual(ds.clean_text(text), "abcdefghij\tk\nl")

    def test_bom_and_surrogates(self):
        self.assertEqual(ds.clean_text("\ufeffok\udcff!"), "ok\ufffd!")
        ds.clean_text("x\udcffy").encode("utf-8")  # must not raise

    def test_edges(self):
        self.assertEqual(ds.clean_text("\n \n\t\n    indented\nbody  \n\n \t"),
                         "    indented\nbody")
        self.assertEqual(ds.clean_text(" \x00\x1e\n\r\n"), "")

    def test_unicode_kept(self):
        text = "naïve café — 日本語 €"
        self.assertEqual(ds.clean_text(text), text)


class DecodeBytesTest(unittest.TestCase):
    def test_declared_charset(self):
        self.assertEqual(ds.decode_bytes("Привет".encode("koi8-r"), "koi8-r"), "Привет")
        self.assertEqual(ds.decode_bytes("こんにちは".encode("iso-2022-jp"), "ISO-2022-JP"),
                         "こんにちは")

    def test_latin1_label_decodes_as_windows_1252(self):
        self.assertEqual(ds.decode_bytes(b"\x93hi\x94 caf\xe9", "iso-8859-1"),
                         "\u201chi\u201d café")

    def test_ascii_label_with_utf8_bytes(self):
        self.assertEqual(ds.decode_bytes("é".encode("utf-8"), "us-ascii"), "é")

    def test_unknown_label_and_no_label(self):
        self.assertEqual(ds.decode_bytes("ü".encode("utf-8"), "x-unknown-8bit"), "ü")
        self.assertEqual(ds.decode_bytes(b"caf\xe9", None), "café")
        self.assertEqual(ds.decode_bytes(b"caf\xe9", '"bogus charset"'), "café")

    def test_last_resort_replaces(self):
        # 0x81 is neither UTF-8 nor defined in windows-1252.
        self.assertEqual(ds.decode_bytes(b"a\x81b", "utf-8"), "a\ufffdb")


class EmailBodyTest(unittest.TestCase):
    def test_plain_drops_headers_and_from_line(self):
        self.assertEqual(ds.email_body(PLAIN), "Hi Bob,\n\nLunch at noon?\n  -- Alice")

    def test_plain_with_crlf(self):
        self.assertEqual(ds.email_body(crlf(PLAIN.decode()).encode()),
                         "Hi Bob,\n\nLunch at noon?\n  -- Alice")

    def test_str_input(self):
        self.assertEqual(ds.email_body(PLAIN.decode("ascii")),
                         "Hi Bob,\n\nLunch at noon?\n  -- Alice")

    def test_quoted_printable_latin1(self):
        self.assertEqual(
            ds.email_body(QP_LATIN1),
            "Un café naïf coûte 2 £, une très longue ligne coupée par un saut doux.\n"
            "\u201cGuillemets\u201d de Windows.")

    def test_quoted_printable_utf8(self):
        self.assertEqual(ds.email_body(QP_UTF8), "Grüße — 日本")

    def test_base64_utf8(self):
        self.assertEqual(ds.email_body(BASE64_UTF8), "Ça marche: ☃ and “quotes”.")

    def test_multipart_keeps_only_inline_plain_text(self):
        body = ds.email_body(MULTIPART)
        self.assertEqual(body, "The report is attached.\nSee you.")
        for leaked in ("HTML", "SECRET", "ATTACHED", "multi-part message", "report.bin"):
            self.assertNotIn(leaked, body)

    def test_html_only_is_converted(self):
        body = ds.email_body(HTML_ONLY)
        self.assertEqual(body, "News & notes\n\nFirst para, wrapped.\n\nCafé olé\nnext line")

    def test_rs_nul_and_controls_removed(self):
        raw = (b"From: q@example.org\r\nSubject: s\r\n\r\n"
               b"one\x1etwo\x00three\r\nbell\x07 esc\x1b[0m\r\n\x1e\x00\r\n")
        body = ds.email_body(raw)
        self.assertEqual(body, "onetwothree\nbell esc[0m")
        self.assertNotIn(RS, body)
        self.assertNotIn("\x00", body)

    def test_8bit_body_without_charset(self):
        raw = b"From: r@example.org\nSubject: s\n\nna\xefve \x93quoted\x94\n"
        self.assertEqual(ds.email_body(raw), "na\u00efve \u201cquoted\u201d")

    def test_empty_bodies(self):
        self.assertEqual(ds.email_body(ONLY_ATTACHMENT), "")
        self.assertEqual(ds.email_body(b"From: a@b\nSubject: only headers\n"), "")
        self.assertEqual(ds.email_body(b"From: a@b\nSubject: blank\n\n \n\t\n"), "")

    def test_html_to_text_pre_and_entities(self):
        self.assertEqual(ds.html_to_text("<pre>a  b\n  c</pre><p>x&lt;y &#8212; z</p>"),
                         "a  b\nc\n\nx<y \u2014 z")


class EmailSubjectTest(unittest.TestCase):
    def test_plain_and_missing(self):
        self.assertEqual(ds.email_subject(PLAIN), "Lunch")
        self.assertEqual(ds.email_subject(BASE64_UTF8), "")
        self.assertEqual(ds.email_subject(b"From: a@b\nSubject:  \t \n\nbody\n"), "")

    def test_encoded_words_decoded(self):
        self.assertEqual(ds.email_subject(QP_LATIN1), "caf\u00e9")
        raw = (b"Subject: Re: =?iso-8859-1?q?caf=E9?=\r\n =?utf-8?b?4pyT?= done\r\n"
               b"\r\nbody\r\n")
        self.assertEqual(ds.email_subject(raw), "Re: caf\u00e9\u2713 done")

    def test_folded_subject_is_one_line(self):
        raw = b"Subject: [list] a long\n\tsubject line\n  continued\nFrom: a@b\n\nbody\n"
        self.assertEqual(ds.email_subject(raw), "[list] a long subject line continued")

    def test_8bit_subject_uses_the_declared_charset(self):
        raw = ("Subject: \u041f\u0440\u0438\u0432\u0435\u0442\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=koi8-r\n\n\u0442\u0435\u043a\u0441\u0442\n"
               ).encode("koi8-r")
        self.assertEqual(ds.email_subject(raw), "\u041f\u0440\u0438\u0432\u0435\u0442")
        self.assertEqual(ds.email_subject(b"Subject: caf\xe9\n\nx\n"), "caf\u00e9")

    def test_undecodable_encoded_words_fall_back_to_the_raw_header(self):
        for value in ("=?x-no-such-charset?q?abc?=", "=?utf-8?q?=FF?= tail"):
            raw = f"Subject: {value}\n\nbody\n".encode("ascii")
            self.assertEqual(ds.email_subject(raw), value)

    def test_email_text(self):
        self.assertEqual(ds.email_text(PLAIN),
                         "Subject: Lunch\n\nHi Bob,\n\nLunch at noon?\n  -- Alice")
        self.assertEqual(ds.email_text(BASE64_UTF8), "\u00c7a marche: \u2603 and "
                         "\u201cquotes\u201d.")  # no Subject header: the body alone
        self.assertEqual(ds.email_text(b"Subject: only headers\n"), "Subject: only headers")
        self.assertEqual(ds.email_text(ONLY_ATTACHMENT), "")
        self.assertEqual(ds.email_text(b"Subject: \x1e\x00 \n\n \x1e\n"), "")


class WriteCorpusTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        self._umask = os.umask(0o022)
        self.source = {"package": "test", "version": "1", "via": "test"}

    def tearDown(self):
        os.umask(self._umask)
        self._tmp.cleanup()

    def test_format_and_metadata(self):
        docs = ["first doc\r\nline 2\n", "", "in\x1eside\x00", "\x00\x1e \n", "é 日本"]
        meta = ds.write_corpus(iter(docs), self.dir, "t", self.source)
        with open(os.path.join(self.dir, "t.txt"), "rb") as f:
            data = f.read()
        expected = "first doc\nline 2\x1einside\x1eé 日本\x1e".encode("utf-8")
        self.assertEqual(data, expected)
        self.assertEqual(data.count(b"\x1e"), 3)
        self.assertTrue(data.endswith(b"\x1e"))
        self.assertEqual(meta["documents"], 3)
        self.assertEqual(meta["skipped"], 2)
        with open(os.path.join(self.dir, "t.json"), encoding="utf-8") as f:
            on_disk = json.load(f)
        self.assertEqual(on_disk, {"name": "t", "source": self.source, "documents": 3,
                                   "bytes": len(expected),
                                   "sha256": hashlib.sha256(expected).hexdigest()})
        self.assertEqual(ds.read_documents(os.path.join(self.dir, "t.txt")),
                         ["first doc\nline 2", "inside", "é 日本"])
        self.assertEqual(sorted(os.listdir(self.dir)), ["t.json", "t.txt"])  # no temp files
        mode = stat.S_IMODE(os.stat(os.path.join(self.dir, "t.txt")).st_mode)
        self.assertEqual(mode, 0o644)
        self.assertEqual(ds.cached_meta(self.dir, "t"), on_disk)

    def test_interrupted_write_keeps_old_files(self):
        ds.write_corpus(["old"], self.dir, "t", self.source)
        with open(os.path.join(self.dir, "t.txt"), "rb") as f:
            old_txt = f.read()
        with open(os.path.join(self.dir, "t.json"), "rb") as f:
            old_json = f.read()

        def docs():
            yield "new document " * 1000
            raise KeyboardInterrupt

        with self.assertRaises(KeyboardInterrupt):
            ds.write_corpus(docs(), self.dir, "t", self.source)
        with open(os.path.join(self.dir, "t.txt"), "rb") as f:
            self.assertEqual(f.read(), old_txt)
        with open(os.path.join(self.dir, "t.json"), "rb") as f:
            self.assertEqual(f.read(), old_json)
        self.assertEqual(sorted(os.listdir(self.dir)), ["t.json", "t.txt"])

    def test_interrupted_first_write_leaves_nothing(self):
        def docs():
            yield "a"
            raise RuntimeError("boom")

        with self.assertRaises(RuntimeError):
            ds.write_corpus(docs(), self.dir, "t", self.source)
        self.assertEqual(os.listdir(self.dir), [])
        self.assertIsNone(ds.cached_meta(self.dir, "t"))

    def test_no_documents_is_an_error(self):
        with self.assertRaises(ds.CorpusError):
            ds.write_corpus(["", " \x00 "], self.dir, "t", self.source)
        self.assertEqual(os.listdir(self.dir), [])

    def test_extra_metadata(self):
        meta = ds.write_corpus(["a", "b"], self.dir, "t", self.source,
                               {"labels": {"ham": 1, "spam": 1}})
        with open(os.path.join(self.dir, "t.json"), encoding="utf-8") as f:
            on_disk = json.load(f)
        self.assertEqual(list(on_disk), ["name", "source", "documents", "bytes", "sha256",
                                         "labels"])
        self.assertEqual(on_disk["labels"], {"ham": 1, "spam": 1})
        self.assertEqual(meta["labels"], {"ham": 1, "spam": 1})
        with self.assertRaises(ValueError):
            ds.write_corpus(["a"], self.dir, "u", self.source, {"documents": 5})
        self.assertFalse(os.path.exists(os.path.join(self.dir, "u.txt")))

    def test_atomic_write_bytes_replaces(self):
        path = os.path.join(self.dir, "f.bin")
        ds.atomic_write_bytes(path, b"one")
        ds.atomic_write_bytes(path, b"two")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"two")
        self.assertEqual(os.listdir(self.dir), ["f.bin"])

    def test_cached_meta_detects_incomplete(self):
        ds.write_corpus(["abc", "def"], self.dir, "t", self.source)
        with open(os.path.join(self.dir, "t.txt"), "ab") as f:
            f.write(b"extra")
        self.assertIsNone(ds.cached_meta(self.dir, "t"))
        os.unlink(os.path.join(self.dir, "t.json"))
        self.assertIsNone(ds.cached_meta(self.dir, "t"))


# ------------------------------------------------------------------------------ package tarballs

def make_tarball(path, package, version, files):
    """An npm-style tarball: every file under package/."""
    files = dict(files)
    files["package.json"] = json.dumps({"name": package, "version": version})
    with tarfile.open(path, "w:gz") as tar:
        for rel, content in files.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            info = tarfile.TarInfo("package/" + rel)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


class TarballTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        self.tgz = os.path.join(self.dir, "p.tgz")

    def tearDown(self):
        self._tmp.cleanup()

    def test_emails_only_ham_in_file_list_order(self):
        pkg, ver = ds.NPM_SPAM_ASSASSIN
        ham_json = json.dumps({"id": "00002", "group": "easy-ham-2",
                               "text": "From: j@x\nSubject: s\n\nfrom the json twin\n"})
        make_tarball(self.tgz, pkg, ver, {
            "data/file_list.json": json.dumps([
                "easy-ham-1/00001.a.txt", "spam-1/00001.b.txt", "hard-ham-1/00001.c.txt",
                "easy-ham-2/00002.d.txt", "easy-ham-1/00002.e.txt"]),
            "data/easy-ham-1/00001.a.txt": PLAIN,
            "data/spam-1/00001.b.txt": b"From: s@x\n\nBUY NOW\n",
            "data/hard-ham-1/00001.c.txt": HTML_ONLY,
            "data/easy-ham-2/00002.d.json": ham_json,
            "data/easy-ham-1/00002.e.txt": ONLY_ATTACHMENT,
        })
        with contextlib.redirect_stderr(io.StringIO()):
            docs = ds.emails_from_tarball(self.tgz)
        self.assertEqual(docs, ["Hi Bob,\n\nLunch at noon?\n  -- Alice",
                                "News & notes\n\nFirst para, wrapped.\n\nCafé olé\nnext line",
                                "from the json twin", ""])
        self.assertFalse(any("BUY NOW" in d for d in docs))

    def make_spam_tarball(self):
        pkg, ver = ds.NPM_SPAM_ASSASSIN
        make_tarball(self.tgz, pkg, ver, {
            "data/file_list.json": json.dumps([
                "easy-ham-1/00001.a.txt", "spam-1/00001.b.txt", "hard-ham-1/00001.c.txt",
                "easy-ham-2/00002.d.txt", "spam-2/00002.e.txt", "spam-2/00003.f.txt",
                "easy-ham-1/00002.g.txt"]),
            "data/easy-ham-1/00001.a.txt": PLAIN,
            "data/spam-1/00001.b.txt": b"From: s@x\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= "
                                       b"=?utf-8?b?4pyT?=\n\nBUY\tNOW\r\n",
            "data/hard-ham-1/00001.c.txt": HTML_ONLY,
            "data/easy-ham-2/00002.d.txt": ONLY_ATTACHMENT,  # no subject, no text: skipped
            "data/spam-2/00002.e.txt": b"From: s@x\nSubject: \n\n\n\nno subject\n",
            "data/spam-2/00003.f.txt": b"From: s@x\nSubject: \x1e\n\n \x00\n",  # skipped
            "data/easy-ham-1/00002.g.txt": BASE64_UTF8,
        })

    def test_spam_labelled_in_file_list_order(self):
        self.make_spam_tarball()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            docs, labels = ds.spam_from_tarball(self.tgz)
        self.assertEqual(docs, [
            "ham\tSubject: Lunch\n\nHi Bob,\n\nLunch at noon?\n  -- Alice",
            "spam\tSubject: Gr\u00fc\u00dfe\u2713\n\nBUY\tNOW",
            "ham\tSubject: newsletter\n\nNews & notes\n\nFirst para, wrapped.\n\n"
            "Caf\u00e9 ol\u00e9\nnext line",
            "spam\tno subject",
            "ham\t\u00c7a marche: \u2603 and \u201cquotes\u201d."])
        self.assertEqual(labels, {"ham": 3, "spam": 2})
        self.assertIn("skipped 2 message(s)", err.getvalue())
        self.assertIn("easy-ham-2/00002.d.txt", err.getvalue())
        self.assertIn("spam-2/00003.f.txt", err.getvalue())
        for doc in docs:
            label, text = doc.split("\t", 1)
            self.assertIn(label, ("ham", "spam"))
            self.assertEqual(text, ds.clean_text(text))
            self.assertTrue(text)

    def test_spam_fetch_writes_label_counts(self):
        self.make_spam_tarball()
        cache = os.path.join(self.dir, "cache")
        with mock.patch.object(ds, "npm_pack", return_value=self.tgz), \
                contextlib.redirect_stderr(io.StringIO()):
            meta = ds.fetch("spam", cache)
        with open(os.path.join(cache, "spam.json"), encoding="utf-8") as f:
            on_disk = json.load(f)
        self.assertEqual(on_disk["labels"], {"ham": 3, "spam": 2})
        self.assertEqual(on_disk["documents"], 5)
        self.assertEqual(meta["skipped"], 0)
        docs = ds.read_documents(os.path.join(cache, "spam.txt"))
        self.assertEqual([d.split("\t", 1)[0] for d in docs], ["ham", "spam", "ham", "spam", "ham"])
        self.assertEqual(docs[1], "spam\tSubject: Gr\u00fc\u00dfe\u2713\n\nBUY\tNOW")

    def test_wrong_package_version_is_refused(self):
        pkg, _ = ds.NPM_SPAM_ASSASSIN
        make_tarball(self.tgz, pkg, "9.9.9", {"data/file_list.json": "[]"})
        with self.assertRaises(ds.CorpusError):
            ds.emails_from_tarball(self.tgz)
        with self.assertRaises(ds.CorpusError):
            ds.spam_from_tarball(self.tgz)

    def test_sotu_chronological(self):
        pkg, ver = ds.NPM_SOTU

        def speech(year, name, text):
            return json.dumps({"year": year, "name": name, "party": "x", "text": text})

        make_tarball(self.tgz, pkg, ver, {
            "data/1953_dwight_d_eisenhower_r.json": speech(1953, "Dwight D Eisenhower", "E53"),
            "data/1953_harry_s_truman_d.json": speech(1953, "Harry S Truman", "T53"),
            "data/1946_harry_s_truman_d.json": speech(1946, "Harry S Truman", "T46"),
            "data/1954_dwight_d_eisenhower_r.json": speech(1954, "Dwight D Eisenhower", "E54"),
            "data/1946_harry_s_truman_d.txt": "the txt twin is not read",
        })
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(ds.sotu_from_tarball(self.tgz), ["T46", "T53", "E53", "E54"])

    def test_moby_dick_one_document(self):
        pkg, ver = ds.NPM_MOBY_DICK
        make_tarball(self.tgz, pkg, ver, {
            "data/file_list.json": json.dumps(["contents.txt", "etymology.txt", "chapter_1.txt",
                                               "chapter_2.txt", "epilogue.txt"]),
            "data/contents.txt": "CONTENTS\n\nCHAPTER 1. Loomings.\n",
            "data/etymology.txt": "ETYMOLOGY.\n\nThe pale Usher.\n",
            "data/chapter_1.txt": "CHAPTER 1. Loomings.\r\n\r\nCall me Ishmael.\n",
            "data/chapter_2.txt": "CHAPTER 2. The Carpet-Bag.\n\nI stuffed a shirt or two.\n",
            "data/epilogue.txt": "Epilogue\n\nThe drama\u2019s done.\n",
            "data/data.txt": "not read",
        })
        with contextlib.redirect_stderr(io.StringIO()):
            docs = ds.moby_dick_from_tarball(self.tgz)
        self.assertEqual(docs, ["ETYMOLOGY.\n\nThe pale Usher.\n\nCHAPTER 1. Loomings.\n\n"
                                "Call me Ishmael.\n\nCHAPTER 2. The Carpet-Bag.\n\nI stuffed a "
                                "shirt or two.\n\nEpilogue\n\nThe drama\u2019s done."])


# ------------------------------------------------------------------------------ command line

class CommandLineTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def run_main(self, argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = ds.main(argv)
            except SystemExit as e:
                rc = e.code
        return rc, out.getvalue(), err.getvalue()

    def test_unknown_corpus_exits_2_with_one_line(self):
        for argv in (["fetch", "nope"], ["path", "nope", "--cache", self.dir],
                     ["fetch", "emails", "nope", "--cache", self.dir]):
            rc, out, err = self.run_main(argv)
            self.assertEqual(rc, 2)
            self.assertEqual(out, "")
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn("unknown corpus 'nope'", err)
        self.assertEqual(os.listdir(self.dir), [])  # nothing fetched before the check

    def test_path_of_cached_corpus_does_not_fetch(self):
        ds.write_corpus(["x"], self.dir, "sotu", {"package": "p", "version": "v", "via": "t"})
        with mock.patch.object(ds, "fetch", side_effect=AssertionError("fetched")):
            rc, out, _ = self.run_main(["path", "sotu", "--cache", self.dir])
        self.assertEqual(rc, 0)
        self.assertEqual(out, os.path.join(os.path.abspath(self.dir), "sotu.txt") + "\n")

    def test_path_fetches_when_missing(self):
        calls = []
        with mock.patch.object(ds, "fetch", side_effect=lambda n, c: calls.append((n, c))):
            rc, out, _ = self.run_main(["path", "austen", "--cache", self.dir])
        self.assertEqual(rc, 0)
        self.assertEqual(calls, [("austen", os.path.abspath(self.dir))])
        self.assertTrue(out.strip().endswith("austen.txt"))

    def test_default_cache_dir(self):
        with mock.patch.dict(os.environ, {"RECUR_DATA": "/some/where"}):
            self.assertEqual(ds.default_cache_dir(), "/some/where")
        env = {k: v for k, v in os.environ.items() if k != "RECUR_DATA"}
        with mock.patch.dict(os.environ, env, clear=True):
            self.assertTrue(ds.default_cache_dir().endswith(
                os.path.join(".cache", "recur", "corpora")))

    def test_list(self):
        with mock.patch.dict(os.environ, {"RECUR_DATA": self.dir}):
            rc, out, _ = self.run_main(["list"])
        self.assertEqual(rc, 0)
        self.assertEqual([line.split()[0] for line in out.splitlines()],
                         ["emails", "spam", "austen", "sotu", "moby-dick", "translations"])

    def test_missing_tool_as_non_root_prints_apt_line(self):
        err = io.StringIO()
        with mock.patch.object(ds.shutil, "which", return_value=None), \
                mock.patch.object(ds.os, "geteuid", return_value=1000), \
                mock.patch.object(ds.subprocess, "run",
                                  side_effect=AssertionError("must not run anything")), \
                contextlib.redirect_stderr(err):
            with self.assertRaises(SystemExit) as cm:
                ds.ensure_npm()
        self.assertEqual(cm.exception.code, 1)
        self.assertIn("sudo apt-get install -y npm\n", err.getvalue())


if __name__ == "__main__":
    unittest.main()
