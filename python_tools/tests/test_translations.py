"""Tests of the `translations` corpus of python_tools/datasets.py (English -> German pairs from
gettext .mo catalogs). No dpkg, apt-get or network needed: the catalogs are written here.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
import os
import random
import struct
import subprocess
import tempfile
import unittest
import zlib
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


ds = _load("recur_datasets_translations", "datasets.py")

UTF8_HEADER = "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"


def write_mo(entries, order="<", revision=0):
    """A .mo file (bytes) of `entries`, a list of (msgid, msgstr), each str (encoded as UTF-8) or
    bytes, in the given order; `order` '<' little-endian or '>' big-endian; no hash table."""
    entries = [tuple(s.encode("utf-8") if isinstance(s, str) else s for s in e) for e in entries]
    n = len(entries)
    ids_at = 28
    strs_at = ids_at + 8 * n
    data_at = strs_at + 8 * n
    blob = b""
    id_table, str_table = [], []
    for msgid, _ in entries:
        id_table.append((len(msgid), data_at + len(blob)))
        blob += msgid + b"\x00"
    for _, msgstr in entries:
        str_table.append((len(msgstr), data_at + len(blob)))
        blob += msgstr + b"\x00"
    out = struct.pack(order + "7I", 0x950412de, revision, n, ids_at, strs_at, 0, data_at)
    for length, offset in id_table + str_table:
        out += struct.pack(order + "2I", length, offset)
    return out + blob


def catalog(pairs, header=UTF8_HEADER, order="<"):
    """write_mo of a header entry (when `header` is not None) and `pairs`."""
    entries = ([("", header)] if header is not None else []) + list(pairs)
    return write_mo(entries, order)


# ------------------------------------------------------------------------------ .mo reading

class ReadMoTest(unittest.TestCase):
    ENTRIES = [("", UTF8_HEADER), ("File", "Datei"), ("Open %s", "%s öffnen")]

    def test_little_endian(self):
        data = write_mo(self.ENTRIES, "<")
        self.assertEqual(data[:4], b"\xde\x12\x04\x95")
        self.assertEqual(ds.read_mo(data), [(a.encode(), b.encode()) for a, b in self.ENTRIES])

    def test_big_endian_reads_the_same(self):
        data = write_mo(self.ENTRIES, ">")
        self.assertEqual(data[:4], b"\x95\x04\x12\xde")
        self.assertEqual(ds.read_mo(data), ds.read_mo(write_mo(self.ENTRIES, "<")))

    def test_minor_revision_accepted(self):
        data = write_mo(self.ENTRIES, "<", revision=1)
        self.assertEqual(len(ds.read_mo(data)), 3)

    def test_empty_catalog(self):
        self.assertEqual(ds.read_mo(write_mo([])), [])

    def test_bad_files_raise_value_error(self):
        good = write_mo(self.ENTRIES)
        bad = {
            "magic": b"\x00\x00\x00\x00" + good[4:],
            "short": good[:10],
            "major revision": write_mo(self.ENTRIES, revision=2 << 16),
            "truncated strings": good[:-5],
            "truncated table": good[:40],
        }
        for what, data in bad.items():
            with self.subTest(what), self.assertRaises(ValueError):
                ds.read_mo(data)

    def test_charset(self):
        self.assertEqual(ds.mo_charset(ds.read_mo(write_mo(self.ENTRIES))), "UTF-8")
        latin = [("", "Content-Type: text/plain; charset=ISO-8859-1\n")]
        self.assertEqual(ds.mo_charset(ds.read_mo(write_mo(latin))), "ISO-8859-1")
        self.assertIsNone(ds.mo_charset(ds.read_mo(write_mo([("a", "b")]))))


class MoMessagesTest(unittest.TestCase):
    def test_header_plural_and_context(self):
        data = catalog([
            ("File", "Datei"),
            ("%d file\x00%d files", "%d Datei\x00%d Dateien"),  # plural: skipped
            ("menu\x04Open", "Öffnen"),                          # msgctxt: dropped
            ("  padded \n", " gepolstert "),                    # not cleaned yet
        ])
        self.assertEqual(ds.mo_messages(data), [("File", "Datei"), ("Open", "Öffnen"),
                                                ("  padded \n", " gepolstert ")])

    def test_latin1_catalog(self):
        header = "Content-Type: text/plain; charset=iso-8859-1\n"
        data = catalog([("interface".encode(), "Schnittstellenübersicht".encode("latin-1")),
                        ("Quotes", "\x84Zitat\x93".encode("latin-1"))], header=header)
        # A latin-1 label is read as windows-1252, so 0x84/0x93 are the German quotes.
        self.assertEqual(ds.mo_messages(data), [("interface", "Schnittstellenübersicht"),
                                                ("Quotes", "„Zitat“")])

    def test_big_endian_latin1_catalog(self):
        header = "Content-Type: text/plain; charset=ISO-8859-1\n"
        data = catalog([("size", "Größe".encode("latin-1"))], header=header, order=">")
        self.assertEqual(ds.mo_messages(data), [("size", "Größe")])

    def test_missing_or_placeholder_charset_falls_back_to_utf8(self):
        for header in (None, "Content-Type: text/plain; charset=CHARSET\n"):
            with self.subTest(header=header):
                data = catalog([("size", "Größe")], header=header)
                self.assertEqual(ds.mo_messages(data), [("size", "Größe")])

    def test_bytes_invalid_in_the_declared_charset(self):
        # Latin-1 bytes in a UTF-8 catalog: read as windows-1252 rather than failing.
        data = catalog([("size", "Größe".encode("latin-1"))])
        self.assertEqual(ds.mo_messages(data), [("size", "Größe")])


# ------------------------------------------------------------------------------ rules

class CleanPairTest(unittest.TestCase):
    def test_kept_and_stripped(self):
        self.assertEqual(ds.clean_pair("  Open file\n", "\tDatei öffnen  "),
                         ("Open file", "Datei öffnen"))

    def test_accelerators_and_format_strings_kept(self):
        self.assertEqual(ds.clean_pair("_File", "_Datei"), ("_File", "_Datei"))
        self.assertEqual(ds.clean_pair("&Open %s", "%s &öffnen"), ("&Open %s", "%s &öffnen"))

    def test_empty_sides(self):
        for source, target in (("", "Datei"), ("File", ""), ("   ", "Datei"), ("File", " \n ")):
            with self.subTest(source=source, target=target):
                self.assertIsNone(ds.clean_pair(source, target))

    def test_newline_inside(self):
        self.assertIsNone(ds.clean_pair("line one\nline two", "Zeile"))
        self.assertIsNone(ds.clean_pair("line", "Zeile eins\nZeile zwei"))
        self.assertIsNone(ds.clean_pair("line\r\nbreak", "Zeile"))

    def test_tab_inside(self):
        self.assertIsNone(ds.clean_pair("a\tb", "a b"))
        self.assertIsNone(ds.clean_pair("a b", "a\tb"))

    def test_control_characters(self):
        for bad in ("\x00", "\x01", "\x1b", "\x1e", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"):
            with self.subTest(char=hex(ord(bad))):
                self.assertIsNone(ds.clean_pair(f"bad{bad}char", "schlecht"))
                self.assertIsNone(ds.clean_pair("bad char", f"schl{bad}echt"))

    def test_replacement_character(self):
        self.assertIsNone(ds.clean_pair("size", "Gr\ufffde"))

    def test_length_is_counted_in_utf8_bytes(self):
        self.assertIsNotNone(ds.clean_pair("a" * 80, "b" * 80))
        self.assertIsNone(ds.clean_pair("a" * 81, "b"))
        self.assertIsNone(ds.clean_pair("a", "b" * 81))
        self.assertIsNotNone(ds.clean_pair("a", "ä" * 40))  # 80 bytes, 40 characters
        self.assertIsNone(ds.clean_pair("a", "ä" * 41))     # 82 bytes, 41 characters
        self.assertIsNotNone(ds.clean_pair(" " * 10 + "a" * 80, "b"))  # measured after stripping

    def test_source_needs_an_ascii_letter(self):
        for source in ("123", "%%", "...", "ÄÖÜ", "-- %% --"):
            with self.subTest(source=source):
                self.assertIsNone(ds.clean_pair(source, "x"))
        self.assertEqual(ds.clean_pair("%s: %d", "%s: %d"), ("%s: %d", "%s: %d"))
        self.assertEqual(ds.clean_pair("Page 2", "42"), ("Page 2", "42"))  # target needs none


class ChooseTranslationsTest(unittest.TestCase):
    def test_most_frequent_wins(self):
        pairs = [("File", "Datei"), ("File", "Akte"), ("File", "Datei"), ("Open", "Öffnen")]
        self.assertEqual(ds.choose_translations(pairs), {"File": "Datei", "Open": "Öffnen"})

    def test_tie_goes_to_the_smallest(self):
        pairs = [("File", "Datei"), ("File", "Akte"), ("File", "Zettel"), ("File", "Zettel"),
                 ("File", "Akte")]
        self.assertEqual(ds.choose_translations(pairs), {"File": "Akte"})
        # Code point order, as UTF-8 byte order: 'Z' < 'a' < 'Ä'.
        self.assertEqual(ds.choose_translations([("x", "Ä"), ("x", "a"), ("x", "Z")]),
                         {"x": "Z"})

    def test_independent_of_order(self):
        pairs = [("s%d" % (i % 7), "t%d" % (i % 3)) for i in range(50)]
        expected = ds.choose_translations(pairs)
        rng = random.Random(1)
        for _ in range(5):
            rng.shuffle(pairs)
            self.assertEqual(ds.choose_translations(pairs), expected)


def many_sources(n=400):
    return {f"message number {i}": f"Nachricht Nummer {i}" for i in range(n)}


class SplitTest(unittest.TestCase):
    def test_split_rule(self):
        for i in range(300):
            source = f"source {i} ü"
            h = zlib.crc32(source.encode("utf-8")) % 100
            expected = "train" if h < 90 else "valid" if h < 95 else "test"
            self.assertEqual(ds.split_of(source), expected)

    def test_known_values(self):
        # Pinned so that a change of the rule shows up here.
        for source, h, split in (("File", 46, "train"), ("No", 89, "train"),
                                 ("Help 16", 94, "valid"), ("Quit", 95, "test")):
            self.assertEqual(zlib.crc32(source.encode()) % 100, h)
            self.assertEqual(ds.split_of(source), split)

    def test_files_format_order_and_disjoint_splits(self):
        chosen = dict(many_sources(), **{"Zebra": "Zebra", "apple": "Apfel", "Éclair": "Eclair",
                                          "B": "b"})
        files = ds.translation_files(chosen)
        self.assertEqual(list(files), ["train", "valid", "test"])
        seen = {}
        for split, data in files.items():
            self.assertTrue(data, split)
            self.assertTrue(data.endswith(b"\n"))
            lines = data.decode("utf-8").split("\n")[:-1]
            for line in lines:
                self.assertEqual(line.count("\t"), 1, line)
                source, target = line.split("\t")
                self.assertEqual(chosen[source], target)
                self.assertEqual(ds.split_of(source), split)
                self.assertNotIn(source, seen)
                seen[source] = split
            keys = [line.split("\t")[0].encode("utf-8") for line in lines]
            self.assertEqual(keys, sorted(keys))
        self.assertEqual(set(seen), set(chosen))
        counts = {split: data.count(b"\n") for split, data in files.items()}
        self.assertGreater(counts["train"], counts["valid"] + counts["test"])

    def test_same_sources_same_bytes(self):
        chosen = many_sources()
        items = list(chosen.items())
        random.Random(2).shuffle(items)
        self.assertEqual(ds.translation_files(dict(items)), ds.translation_files(chosen))


# ------------------------------------------------------------------------------ catalogs to files

class PairsFromCatalogsTest(unittest.TestCase):
    def test_pairs_and_stats(self):
        catalogs = {
            "pkg-a": [("a.mo", catalog([("File", "Datei"), ("Open", "Öffnen"),
                                        ("multi\nline", "mehr\nzeilig")]))],
            "pkg-b": [("b1.mo", catalog([("File", "Akte")])),
                      ("b2.mo", catalog([("File", "Datei"), ("%d\x00%d", "%d\x00%d")],
                                        order=">"))],
        }
        pairs, stats = ds.pairs_from_catalogs(catalogs)
        self.assertEqual(pairs, [("File", "Datei"), ("Open", "Öffnen"), ("File", "Akte"),
                                 ("File", "Datei")])
        self.assertEqual(stats, {
            "pkg-a": {"catalogs": ["a.mo"], "messages": 3, "pairs": 2},
            "pkg-b": {"catalogs": ["b1.mo", "b2.mo"], "messages": 2, "pairs": 2},
        })
        self.assertEqual(ds.choose_translations(pairs), {"File": "Datei", "Open": "Öffnen"})

    def test_broken_catalog_is_named(self):
        with self.assertRaises(ds.CorpusError) as cm:
            ds.pairs_from_catalogs({"pkg": [("broken.mo", b"not a catalog at all")]})
        self.assertIn("broken.mo", str(cm.exception))
        self.assertIn("pkg", str(cm.exception))


class WriteTranslationsTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self._tmp.name, "translations")

    def tearDown(self):
        self._tmp.cleanup()

    def test_files_meta_and_cache_check(self):
        files = ds.translation_files(many_sources())
        meta = ds.write_translations(files, self.dir, {"name": "translations", "pairs": 400})
        self.assertEqual(sorted(os.listdir(self.dir)),
                         ["meta.json", "test.tsv", "train.tsv", "valid.tsv"])
        for split in ds.TRANSLATION_SPLITS:
            with open(os.path.join(self.dir, split + ".tsv"), "rb") as f:
                self.assertEqual(f.read(), files[split])
            self.assertEqual(meta["splits"][split]["pairs"], files[split].count(b"\n"))
        self.assertEqual(sum(meta["splits"][s]["pairs"] for s in ds.TRANSLATION_SPLITS), 400)
        with open(os.path.join(self.dir, "meta.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f), meta)
        self.assertEqual(ds.cached_translations(self.dir), meta)
        with open(os.path.join(self.dir, "valid.tsv"), "ab") as f:
            f.write(b"extra\tmehr\n")
        self.assertIsNone(ds.cached_translations(self.dir))

    def test_empty_split_writes_nothing(self):
        files = {"train": b"a\tb\n", "valid": b"c\td\n", "test": b""}
        with self.assertRaises(ds.CorpusError):
            ds.write_translations(files, self.dir, {})
        self.assertFalse(os.path.exists(self.dir))

    def test_rebuild_removes_meta_first(self):
        files = ds.translation_files(many_sources())
        ds.write_translations(files, self.dir, {})
        with mock.patch.object(ds, "atomic_write_bytes", side_effect=KeyboardInterrupt):
            with self.assertRaises(KeyboardInterrupt):
                ds.write_translations(files, self.dir, {})
        self.assertIsNone(ds.cached_translations(self.dir))


class GermanCatalogsTest(unittest.TestCase):
    LISTING = "\n".join([
        "/.",
        "/usr/share/locale/de/LC_MESSAGES",
        "/usr/share/locale/de/LC_MESSAGES/tool.mo",
        "/usr/share/locale/de/LC_MESSAGES/a-lib.mo",
        "/usr/share/locale/de/LC_MESSAGES/sub/other.mo",
        "/usr/share/locale/de_AT/LC_MESSAGES/tool.mo",
        "/usr/share/locale/fr/LC_MESSAGES/tool.mo",
        "/usr/share/locale/de/LC_MESSAGES/tool.po",
        "/usr/share/doc/tool/de.mo",
    ]) + "\n"

    def dpkg_l(self, listing):
        return mock.patch.object(ds.subprocess, "run", return_value=subprocess.CompletedProcess(
            ["dpkg", "-L"], 0, stdout=listing, stderr=""))

    def test_only_german_catalogs_sorted(self):
        with self.dpkg_l(self.LISTING), mock.patch.object(ds.os.path, "isfile",
                                                          return_value=True):
            self.assertEqual(ds.german_catalogs("tool", ["tool"]),
                             ["/usr/share/locale/de/LC_MESSAGES/a-lib.mo",
                              "/usr/share/locale/de/LC_MESSAGES/tool.mo"])

    def test_none_or_missing_on_disk_is_an_error(self):
        with self.dpkg_l("/usr/share/doc/tool/README\n"), self.assertRaises(ds.CorpusError):
            ds.german_catalogs("tool", ["tool"])
        with self.dpkg_l(self.LISTING), mock.patch.object(ds.os.path, "isfile",
                                                          return_value=False):
            with self.assertRaises(ds.CorpusError) as cm:
                ds.german_catalogs("tool", ["tool"])
        self.assertIn("path-exclude", str(cm.exception))

    def test_missing_package_as_non_root_prints_apt_line(self):
        err = io.StringIO()
        with mock.patch.object(ds, "_dpkg_packages", return_value={"a": ("1", ["a"])}), \
                mock.patch.object(ds.os, "geteuid", return_value=1000), \
                contextlib.redirect_stderr(err):
            with self.assertRaises(SystemExit) as cm:
                ds.ensure_translation_packages(["a", "b-l10n", "c"])
        self.assertEqual(cm.exception.code, 1)
        self.assertIn("sudo apt-get install -y b-l10n c\n", err.getvalue())


class FetchTranslationsTest(unittest.TestCase):
    """fetch_translations end to end, with dpkg replaced by catalogs written here."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.cache = os.path.join(self._tmp.name, "cache")
        mo_dir = os.path.join(self._tmp.name, "mo")
        os.makedirs(mo_dir)
        sources = many_sources(300)
        items = sorted(sources.items())
        self.catalogs = {
            "pkg-a": [("a.mo", catalog(items[:200] + [("Shared", "Gemeinsam")]))],
            "pkg-b": [("b.mo", catalog(items[150:] + [("Shared", "Geteilt"),
                                                       ("Shared", "Geteilt")], order=">"))],
            "pkg-c": [("c.mo", catalog([("Shared", "Gemeinsam"), ("Shared", "Gemeinsam")],
                                       header="Content-Type: text/plain; charset=latin1\n"))],
        }
        self.paths = {}
        for package, files in self.catalogs.items():
            self.paths[package] = []
            for name, data in files:
                path = os.path.join(mo_dir, name)
                with open(path, "wb") as f:
                    f.write(data)
                self.paths[package].append(path)
        self.expected = dict(sources, Shared="Gemeinsam")

    def tearDown(self):
        self._tmp.cleanup()

    def fetch(self):
        installed = {p: ("1.0", [p]) for p in self.catalogs}
        with mock.patch.object(ds, "ensure_translation_packages", return_value=installed), \
                mock.patch.object(ds, "german_catalogs", side_effect=lambda p, n: self.paths[p]), \
                contextlib.redirect_stderr(io.StringIO()):
            return ds.fetch_translations(self.cache, tuple(self.catalogs))

    def read_all(self):
        out = {}
        for name in sorted(os.listdir(os.path.join(self.cache, "translations"))):
            with open(os.path.join(self.cache, "translations", name), "rb") as f:
                out[name] = f.read()
        return out

    def test_corpus_and_meta(self):
        meta = self.fetch()
        out_dir = os.path.join(self.cache, "translations")
        self.assertEqual(meta["path"], os.path.join(out_dir, "train.tsv"))
        self.assertEqual(meta["pairs"], len(self.expected))
        got = {}
        for split in ds.TRANSLATION_SPLITS:
            with open(os.path.join(out_dir, split + ".tsv"), encoding="utf-8") as f:
                for line in f.read().splitlines():
                    source, target = line.split("\t")
                    self.assertNotIn(source, got)
                    got[source] = target
        self.assertEqual(got, self.expected)  # 'Shared': Gemeinsam 3, Geteilt 2
        on_disk = ds.cached_translations(out_dir)
        self.assertEqual(on_disk["rules"], ds.TRANSLATION_RULES)
        self.assertEqual([p["package"] for p in on_disk["source"]["packages"]],
                         ["pkg-a", "pkg-b", "pkg-c"])
        self.assertEqual(on_disk["source"]["packages"][1],
                         {"package": "pkg-b", "version": "1.0", "catalogs": ["b.mo"],
                          "messages": 152, "pairs": 152})

    def test_rerun_writes_identical_bytes(self):
        self.fetch()
        first = self.read_all()
        self.fetch()
        self.assertEqual(self.read_all(), first)

    def test_command_line_path(self):
        out = io.StringIO()
        with mock.patch.object(ds, "fetch", side_effect=lambda n, c: self.fetch()), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            rc = ds.main(["path", "translations", "--cache", self.cache])
        self.assertEqual(rc, 0)
        path = os.path.join(os.path.abspath(self.cache), "translations", "train.tsv")
        self.assertEqual(out.getvalue(), path + "\n")
        out = io.StringIO()
        with mock.patch.object(ds, "fetch", side_effect=AssertionError("fetched")), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            rc = ds.main(["path", "translations", "--cache", self.cache])
        self.assertEqual((rc, out.getvalue()), (0, path + "\n"))


class PackageListTest(unittest.TestCase):
    def test_fixed_list(self):
        packages = ds.TRANSLATION_PACKAGES
        self.assertEqual(len(packages), len(set(packages)))
        for excluded in ("iso-codes", "xkb-data", "xkeyboard-config"):
            self.assertNotIn(excluded, packages)
        self.assertIn("translations", ds.corpus_names())


if __name__ == "__main__":
    unittest.main()
