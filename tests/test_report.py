"""The HTML report: its pages and gallery, and the report itself opened in headless Chromium."""

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

import audio_processing
import spectrogram_math
from settings import spectrogram_settings
import compare_branches
import gallery
import report_pages
from workflow import ROOT, run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Debian's chromium as root in a container: no sandbox, no GPU, no network side traffic.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1500,1400",
    "--virtual-time-budget=15000",
]

# Put first in <head>: records every uncaught error, rejected promise and console.error of the page.
PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) { window.__problems.push("error: " + e.message); });
window.addEventListener("unhandledrejection", function (e) { window.__problems.push("rejection: " + e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    window.__problems.push("console.error: " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
})();
</script>"""

# Put last in <body>: clicks as a user would (menu entry "Data", then the eye button of
# gallery.png) and writes what it found into data-probe-* attributes of <body>.
DRIVE = """<script>
function probeMark(key, value) { document.body.setAttribute("data-probe-" + key, value); }
window.addEventListener("load", function () {
  setTimeout(function () {
    probeMark("loaded", document.querySelectorAll("nav a").length);
    var data = Array.from(document.querySelectorAll("nav a")).find(function (a) { return a.textContent.trim() === "Data"; });
    if (!data) { probeMark("missing", "menu entry Data"); return; }
    data.click();
    setTimeout(function () {
      var row = Array.from(document.querySelectorAll("tr")).find(function (r) { return r.textContent.indexOf("gallery.png") >= 0; });
      if (!row) { probeMark("missing", "gallery.png in Data"); return; }
      probeMark("listed", Array.from(document.querySelectorAll("tr")).map(function (r) { return r.textContent.trim(); }).join(" | "));
      row.querySelector("a").click();
      setTimeout(function () {
        var img = Array.from(document.querySelectorAll("img")).find(function (i) { return i.src.indexOf("filename=gallery.png;") >= 0; });
        probeMark("gallery", img ? img.naturalWidth + "x" + img.naturalHeight : "none");
        probeMark("problems", JSON.stringify(window.__problems));
        probeMark("done", "yes");
      }, 1000);
    }, 1000);
  }, 1000);
});
</script>"""


def driven_copy(report_html):
    """The report with :data:`PROBE` first in its <head> and :data:`DRIVE` last in its <body>."""
    head = report_html.index("<head>") + len("<head>")
    end = report_html.rindex("</body>")
    return report_html[:head] + PROBE + report_html[head:end] + DRIVE + report_html[end:]


def chromium(args, profile, timeout=120):
    """Run headless Chromium with a fresh profile folder; return the completed process."""
    proc = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium) to open the report")
def test_report_opens_in_chromium_and_shows_the_gallery(demo_trained, tmp_path):
    work = demo_trained
    if not (work / "report").exists():  # captions and the workflow description
        shutil.copytree(ROOT / "report", work / "report")
    run(work, "--report", "results/report.html", timeout=600)
    report = (work / "results" / "report.html").read_text(encoding="utf-8")
    for name in (
        "gallery.png",
        "npy_training_curves.png",
        "png_confusion_matrix.png",
        "npy_pr_curves.png",
        "branch_comparison.html",
        "split_summary.html",
        "rejected.html",
        "effective_config.html",
    ):
        assert f"filename={name};" in report, f"{name} is not in the report"

    page = tmp_path / "report_driven.html"
    page.write_text(driven_copy(report), encoding="utf-8")
    dom = chromium(["--dump-dom", page.as_uri()], tmp_path / "profile1").stdout
    probe = {k: html.unescape(v) for k, v in re.findall(r'data-probe-([a-z]+)="([^"]*)"', dom)}
    assert probe.get("done") == "yes", probe
    assert json.loads(probe["problems"]) == []
    assert "Workflow" in dom and "Training" in dom and "Comparison" in dom  # the menu was rendered
    for name in ("gallery.png", "split_summary.html", "rejected.html", "effective_config.html"):
        assert name in probe["listed"], probe["listed"]
    with Image.open(work / "results" / "figures" / "gallery.png") as img:
        assert probe["gallery"] == f"{img.width}x{img.height}"  # the image decoded at its full size

    shot = tmp_path / "report.png"
    chromium([f"--screenshot={shot}", page.as_uri()], tmp_path / "profile2")
    with Image.open(shot) as img:
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.shape[:2] == (1400, 1500)
    # the gallery's magma colours fill the view: many distinct colours, not a blank page
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 2000


def test_report_pages_of_the_demo_run(demo_trained):
    results = demo_trained / "results"
    config = yaml.safe_load((results / "effective_config.yaml").read_text())
    assert config["audio_dir"] == "demo" and config["spectrogram"]["n_mels"] == 64
    provenance = json.loads((results / "model_npy.provenance.json").read_text())
    assert config["spectrogram"] == provenance["spectrogram"]
    summary = (results / "report" / "split_summary.html").read_text()
    assert summary.count("<tr>") == len(pd.read_csv(results / "split_summary.csv")) + 1
    comparison = (results / "report" / "branch_comparison.html").read_text()
    # scores: header + npy/png x test/holdout; training: header + npy/png; groups: header + npy/png x the test recorder
    assert comparison.count("<tr>") == 5 + 3 + 3 and "baseline accuracy" in comparison and "epoch kept" in comparison
    assert "strait" in comparison  # the test split's one author, beside the pooled score
    with Image.open(results / "figures" / "gallery.png") as img:
        assert img.width > 600 and img.height > 5 * 150  # 5 classes, one row each


def test_pick_examples_prefers_train_and_sorted_ids():
    manifest = pd.DataFrame(
        {
            "id": ["b/3", "b/1", "b/2", "a/9", "a/1", "a/5", "a/0", "c/1"],
            "class": ["b", "b", "b", "a", "a", "a", "a", "c"],
            "class_id": [1, 1, 1, 0, 0, 0, 0, 2],
            "split": ["train", "test", "train", "train", "train", "val", "train", "val"],
        }
    )
    chosen = gallery.pick_examples(manifest.sample(frac=1, random_state=3), per_class=3)
    assert list(chosen["id"]) == ["a/0", "a/1", "a/9", "b/2", "b/3", "b/1", "c/1"]
    assert list(gallery.pick_examples(manifest, per_class=1, max_classes=2)["id"]) == ["a/0", "b/2"]


@pytest.mark.parametrize(
    "settings",
    [
        {"sr": 16000, "n_mels": 40, "fmin": 50.0, "fmax": 6000.0, "freq_pool": 2, "time_pool": 3},
        {"sr": 8000, "type": "linear", "n_fft": 256, "hop_length": 64, "fmin": 300.0, "fmax": 3000.0},
    ],
)
def test_axes_match_the_spectrogram(settings):
    sr = settings["sr"]
    s = spectrogram_settings(settings)
    y = np.sin(2 * np.pi * 1000 * np.arange(sr) / sr).astype(np.float32)
    x = spectrogram_math.spectrogram_from_audio(y, sr, s)
    freqs = spectrogram_math.frequencies(sr, s)
    times = spectrogram_math.frame_times(x.shape[1], sr, s)
    assert freqs.shape == (x.shape[0],) and times.shape == (x.shape[1],)
    assert np.all(np.diff(freqs) > 0) and settings["fmin"] <= freqs[0] and freqs[-1] <= settings["fmax"]
    step = s["hop_length"] * settings.get("time_pool", 1) / sr
    np.testing.assert_allclose(np.diff(times), step)
    # the loudest row of a 1 kHz tone is the row whose frequency is nearest 1 kHz
    assert abs(freqs[np.argmax(x.mean(axis=1))] - 1000) <= np.max(np.diff(freqs))
    if settings.get("type") == "linear":
        np.testing.assert_allclose(np.diff(freqs), sr / settings["n_fft"])


def test_gallery_of_stereo_spectrograms_at_their_own_rate(tmp_path):
    settings = {"sr": None, "channels": "stereo", "n_mels": 32}
    rows = []
    for i, (name, sr) in enumerate([("hum", 8000), ("hum", 16000), ("buzz", 22050)]):
        y = np.sin(2 * np.pi * (300 + 500 * i) * np.arange(sr // 2) / sr).astype(np.float32)
        x = spectrogram_math.spectrogram_from_audio(np.stack([y, y]), sr, spectrogram_settings(settings))
        audio_processing.save_npy(x, tmp_path / "specs" / f"{name}{i}.npy")
        rows.append({"filename": f"specs/{name}{i}.npy", "id": f"{name}{i}", "class": name,
                     "class_id": int(name == "hum"), "split": "train", "sample_rate": sr})
    pd.DataFrame(rows).to_csv(tmp_path / "final_specs.csv", index=False)
    shown = gallery.plot_gallery(str(tmp_path / "final_specs.csv"), str(tmp_path / "g.png"), settings, per_class=2)
    assert list(shown["id"]) == ["buzz2", "hum0", "hum1"]
    with Image.open(tmp_path / "g.png") as img:
        assert img.format == "PNG" and img.height > 2 * 150
    assert not list(tmp_path.glob(".tmp-*"))  # written atomically, nothing left behind


def test_markdown_page_renders_the_comparison_table(tmp_path):
    record = {
        "max_abs_png_minus_npy": 0.0019,
        "bound": 1 / 510,
        "branches": {
            "npy": compare_branches.branch_record({"test": {"n": 30, "accuracy": 0.9, "macro_f1": 0.88}, "holdout": None}),
            "png": compare_branches.branch_record({"test": {"n": 30, "accuracy": 0.8, "macro_f1": 0.79}, "holdout": None}),
        },
    }
    (tmp_path / "c.md").write_text(compare_branches.markdown(record))
    report_pages.markdown_page(tmp_path / "c.md", tmp_path / "c.html", "comparison")
    page = (tmp_path / "c.html").read_text()
    cells = re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", page)
    assert cells[:10] == ["branch", "split", "examples", "accuracy", "macro-F1", "macro mAP", "micro mAP",
                          "baseline accuracy", "baseline macro-F1", "baseline macro mAP"]
    assert cells[10:20] == ["npy", "test", "30", "0.900", "0.880", "–", "–", "–", "–", "–"]
    # scores: header + 4 rows of 10 cells; training: header + 2 rows of 6; the separator rows are dropped
    assert len(cells) == 5 * 10 + 3 * 6 and "---" not in page
    assert "<p>Largest |png/255 − npy| over the dataset: 0.001900" in page


def test_csv_page_and_effective_config(tmp_path):
    (tmp_path / "r.csv").write_text("file,reason\n")
    assert report_pages.csv_page(tmp_path / "r.csv", tmp_path / "r.html", "left out", "none left out") == 0
    assert "<p>none left out</p>" in (tmp_path / "r.html").read_text()
    (tmp_path / "r.csv").write_text('file,reason\na<b>.wav,"empty, 0 bytes"\n')
    assert report_pages.csv_page(tmp_path / "r.csv", tmp_path / "r.html", "left out") == 1
    assert "<td>a&lt;b&gt;.wav</td><td>empty, 0 bytes</td>" in (tmp_path / "r.html").read_text()

    config = {"audio_dir": "demo", "spectrogram": {"fmax": None, "db_range": [-100.0, 20.0]}, "predict": {}}
    report_pages.effective_config(config, tmp_path / "c.yaml", tmp_path / "c.html")
    assert yaml.safe_load((tmp_path / "c.yaml").read_text()) == config
    assert "db_range:" in (tmp_path / "c.html").read_text()
