"""#14 §2–3 in the app and the command: the chain in nudges on screen, notation, presentation mode, SVG.

Pilot tests read the screen as text; the command's tests run ``tui.cli.run`` and read
stdout, stderr and the exit status; one tmux test drives the real ``cgtui`` with its own socket.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest

from engine import compute, finite_differences, load_path
from engine.report import to_json, to_markdown, to_trace
from test_contrast import low_contrast_cells
from test_latex import HAVE_KATEX, NODE, katex_failures, math_spans
from test_terminal import Tmux
from tests.tui_helpers import LECTURE, ROOT, make_app, screen_text, tree_line, widget_text
from tui.cli import run

FANOUT = ROOT / "graphs" / "fanout.yaml"


def plain(svg: str) -> str:
    """The text of an SVG screenshot, spaces as spaces."""
    import html

    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


# --------------------------------------------------------------------------- the chain in the panel


async def test_the_panel_shows_the_chain_and_the_backward_pass_once_revealed():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")  # forward done: the trail and its links, no gradient yet
        await pilot.press("down", "down")  # from the first input: a, u, b
        await pilot.pause()
        assert app.selected == "b"
        fd = widget_text(app, "#fd")
        assert "chain rule in nudges, b → u → v → J:" in fd
        assert "Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2" in fd
        assert "2 × 1 × 3 = 6 = ΔJ/Δb" in fd
        assert "∂u/∂b" not in fd and "backprop:" not in fd  # the backward pass has not reached b
        await pilot.press("f")
        await pilot.pause()
        fd = widget_text(app, "#fd")
        assert "Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2   ∂u/∂b = c = 2" in fd
        assert "backprop: ∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6" in fd


async def test_predict_mode_hides_the_chain_with_the_estimates():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "g", "down", "down")
        await pilot.pause()
        fd = widget_text(app, "#fd")
        assert "Estimates hidden in predict mode" in fd
        assert "Δu/Δb" not in fd


async def test_fanout_says_two_paths_on_screen():
    app = make_app(FANOUT, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        for _ in range(10):  # down from the first input to x
            if app.selected == "x":
                break
            await pilot.press("down")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.selected == "x"
        fd = widget_text(app, "#fd")
        assert "x reaches f by 2 paths" in fd and "path 1: x → q → f" in fd and "path 2: x → p → f" in fd  # the backward steps reach x through q first
        assert "(q held at 6)" in fd


# --------------------------------------------------------------------------- notation


async def test_o_cycles_the_notation_everywhere():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "down", "down")
        await pilot.pause()
        assert "∂J/∂b = 6" in tree_line(app, "b")
        await pilot.press("o")
        await pilot.pause()
        assert app.session.notation_style == "d"
        screen = screen_text(app)
        assert "dJ/db = 6" in tree_line(app, "b")
        assert "dJ/dc = dJ/du · du/dc = 3 × 3 = 9" in widget_text(app, "#step")
        assert "dJ/db = dJ/du · du/db = 3 × 2 = 6" in widget_text(app, "#transcript")
        assert "backprop: dJ/db = dJ/du · du/db = 3 × 2 = 6" in widget_text(app, "#fd")
        assert "∂" not in screen.replace("(o: → dv → ∂J/∂v)", "")  # but the message naming what o does next
        await pilot.press("o")
        await pilot.pause()
        assert app.session.notation_style == "code"
        assert "db = 6" in tree_line(app, "b")
        assert "dc = du · du/dc = 3 × 3 = 9" in widget_text(app, "#step")
        assert "dx means dJ/dx" in screen_text(app)  # the one-line reminder, under the tree
        assert "dv stands for dJ/dv (o: → ∂J/∂v → dJ/dv)." in widget_text(app, "#message")
        await pilot.press("question_mark")
        await pilot.pause()
        assert "w := w − α dw" in screen_text(app)  # the help text follows it too
        await pilot.press("question_mark", "o")
        await pilot.pause()
        assert app.session.notation_style == "partial"
        assert "∂J/∂b = 6" in tree_line(app, "b")
        assert "dx means" not in screen_text(app)


async def test_set_notation_refuses_an_unknown_name_and_keeps_the_last():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.set_notation("d") is True
        assert app.set_notation("bogus") is False
        await pilot.pause()
        assert app.session.notation_style == "d"
        assert "unknown notation 'bogus'" in widget_text(app, "#message")


async def test_o_works_with_the_editor_open():
    # a focused field takes letters: o types into it, and the notation stays
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e", "o")
        await pilot.pause()
        assert app.session.notation_style == "partial"


def test_headless_outputs_follow_the_notation(capsys):
    assert run([str(LECTURE), "--trace", "--notation", "d"]) == 0
    out = capsys.readouterr().out
    assert "backward 4/5  dJ/db = dJ/du · du/db = 3 × 2 = 6" in out and "∂" not in out
    assert run([str(LECTURE), "--trace", "--notation", "code"]) == 0
    out = capsys.readouterr().out
    assert "backward 4/5  db = du · du/db = 3 × 2 = 6" in out
    assert "(code notation: dx stands for dJ/dx" in out
    assert run([str(LECTURE), "--json", "--notation", "code"]) == 0
    assert '"text": "db = du · du/db = 3 × 2 = 6"' in capsys.readouterr().out
    assert run([str(LECTURE), "--markdown", "--notation", "d"]) == 0
    assert r"\frac{\mathrm{d}J}{\mathrm{d}b} = \frac{\mathrm{d}J}{\mathrm{d}u}" in capsys.readouterr().out
    assert run([str(LECTURE), "--trace", "--notation", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cgtui: ") and err.count("\n") == 1 and "Traceback" not in err


def test_warnings_follow_the_notation_in_trace_and_handout(capsys):
    # sqrt at 0: its local derivative 1/(2 sqrt(a)) is inf; the warning names it in the chosen notation
    args = ["-e", "J = 3 * sqrt(a)", "--set", "a=0"]
    assert run([*args, "--trace", "--notation", "d"]) == 0
    out = capsys.readouterr().out
    assert "! local derivative du/da = 1 / (2 * sqrt(a)) is inf at a = 0" in out and "∂" not in out
    assert run([*args, "--markdown", "--notation", "d"]) == 0
    assert "- local derivative du/da = 1 / (2 * sqrt(a)) is inf" in capsys.readouterr().out
    assert run([*args, "--json", "--notation", "d"]) == 0  # JSON keeps the walk's own words
    assert "local derivative ∂u/∂a = " in capsys.readouterr().out


def test_the_trace_has_the_chain_under_each_estimate():
    walk = compute(load_path(LECTURE).graph)
    text = to_trace(walk, finite_differences(walk, "all", 1e-3), 1e-3, "lecture.yaml")
    block = text[text.index("  b: 3 → 3.001"):]
    assert block.split("\n")[3:9] == [
        "      chain rule in nudges, b → u → v → J:",
        "        Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2   ∂u/∂b = c = 2",
        "        Δv/Δu = (11.002 − 11)/(6.002 − 6) = 1   ∂v/∂u = 1",
        "        ΔJ/Δv = (33.006 − 33)/(11.002 − 11) = 3   ∂J/∂v = 3",
        "        2 × 1 × 3 = 6 = ΔJ/Δb",
        "      backprop: ∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6",
    ]
    # JSON is unchanged by the chain (its step texts follow the notation only)
    assert "Δ" not in to_json(walk, finite_differences(walk, "all", 1e-3), 1e-3, "lecture.yaml")


def test_the_handout_has_the_chain_in_tex():
    walk = compute(load_path(LECTURE).graph)
    md = to_markdown(walk, finite_differences(walk, "all", 1e-3), 1e-3, "lecture.yaml")
    assert "## The chain rule in nudges" in md
    assert r"$\frac{\Delta u}{\Delta b} = \frac{6.002 - 6}{3.001 - 3} = 2$" in md
    assert r"$2 \times 1 \times 3 = 6 = \frac{\Delta J}{\Delta b}$" in md


@pytest.mark.skipif(NODE is None or not HAVE_KATEX, reason="KaTeX check needs node and `npm ci --prefix tests/katex`")
def test_every_notation_and_chain_renders_in_katex_strict(capsys):
    spans = []
    for path in sorted((ROOT / "graphs").glob("*.yaml")):
        for notation in ("partial", "d", "code"):
            assert run([str(path), "--markdown", "--notation", notation]) == 0
            spans += math_spans(capsys.readouterr().out)
    assert any(r"\Delta" in s for s in spans) and any(r"\mathrm{d}v" in s for s in spans)
    failures = katex_failures(spans)
    assert not failures, failures[:5]


# --------------------------------------------------------------------------- presentation mode


async def test_P_presents_and_P_again_leaves():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f", "f")
        await pilot.pause()
        assert app.query_one("#transcript").display
        await pilot.press("P")
        await pilot.pause()
        assert app.presenting and app.screen.has_class("-present")
        assert not app.query_one("#transcript").region.height  # hidden
        assert app.view == "picture"  # the picture view, as #14 asks of presentation mode
        assert "no picture view" not in " ".join(widget_text(app, "#message").split())
        assert "Presentation mode (P leaves it)" in widget_text(app, "#message")
        await pilot.press("P")
        await pilot.pause()
        assert not app.presenting and app.query_one("#transcript").region.height > 0
        assert app.view == "tree"  # the view it was in


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_presentation_mode_keeps_the_contrast(monkeypatch, size, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(LECTURE, watch_file=False, present=True)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f", "n", "n", "down", "down")
        await pilot.pause()
        assert app.presenting
        assert low_contrast_cells(app) == []


async def test_set_view_is_called_when_the_app_has_it():
    app = make_app(LECTURE, watch_file=False)
    seen = []

    def set_view(name):
        seen.append(name)
        app.view = name

    app.set_view = set_view
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("P")
        await pilot.pause()
        assert seen == ["picture"] and "not available" not in widget_text(app, "#message")
        await pilot.press("P")
        await pilot.pause()
        assert seen == ["picture", "tree"]
        # a teacher already in the picture view stays there after presenting
        app.view = "picture"
        await pilot.press("P", "P")
        await pilot.pause()
        assert seen[-1] == "picture"


# --------------------------------------------------------------------------- SVG


async def test_x_saves_the_screen_under_a_fresh_name(tmp_path):
    graph = tmp_path / "lecture.yaml"
    shutil.copy(LECTURE, graph)
    (tmp_path / "lecture-step3.svg").write_text("someone's own file")
    app = make_app(graph, watch_file=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n", "n", "n", "x")
        await pilot.pause()
        saved = tmp_path / "lecture-step3-2.svg"
        assert saved.exists()
        assert (tmp_path / "lecture-step3.svg").read_text() == "someone's own file"  # never overwritten
        assert str(saved) in widget_text(app, "#message").replace("\n", "").replace(" ", "") or \
            "lecture-step3-2.svg" in widget_text(app, "#message")
        assert "J = 3 · v = 3 × 11 = 33" in plain(saved.read_text())



async def test_x_falls_back_to_the_current_folder(tmp_path, monkeypatch):
    from engine import load_builtin
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    monkeypatch.chdir(tmp_path)
    app = CgtuiApp(DebugSession(load_builtin()), watch_file=False)  # no file: the current folder
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "x")
        await pilot.pause()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["cgtui-step0-2.svg", "cgtui-step0.svg"]
        assert "cgtui-step0-2.svg" in " ".join(widget_text(app, "#message").split())


def test_svg_writes_the_screen_at_step_n(tmp_path, capsys):
    out = tmp_path / "step6.svg"
    assert run([str(LECTURE), "--svg", str(out), "--step", "6", "--size", "100x30", "--notation", "d"]) == 0
    text = plain(out.read_text())
    assert out.read_text().startswith("<svg")
    assert "backward 3/5" in text and "dJ/du = dJ/dv · dv/du = 3 × 1 = 3" in text
    assert capsys.readouterr().err == ""
    # presentation mode in the picture: no transcript, and the graph's own words, not the key's message
    assert run([str(LECTURE), "--svg", str(out), "--step", "4", "--present"]) == 0
    text = plain(out.read_text())
    assert "Transcript" not in text and "Presentation mode" not in text and "from the lecture" in text


@pytest.mark.parametrize("args, words", [
    (["--step", "99"], "has 8 steps"),
    (["--step", "-1"], "give 0 to 8"),
    (["--size", "10x10"], "outside 60x15"),
    (["--size", "wide"], "WIDTHxHEIGHT"),
])
def test_svg_refusals_are_one_line(tmp_path, capsys, args, words):
    out = tmp_path / "x.svg"
    assert run([str(LECTURE), "--svg", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cgtui: ") and err.count("\n") == 1 and words in err, err
    assert not out.exists()


def test_svg_to_a_place_that_cannot_be_written(tmp_path, capsys):
    for target, words in ((tmp_path / "no" / "x.svg", "there is no folder"), (tmp_path, "is a folder")):
        assert run([str(LECTURE), "--svg", str(target)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cgtui: ") and err.count("\n") == 1 and words in err
    assert run([str(LECTURE), "--step", "3"]) == 2
    assert "--step goes with --svg" in capsys.readouterr().err


def test_size_still_counts_nodes_for_examples(tmp_path, capsys):
    assert run(["--example", "chain", "--size", "5", "--json", "--fd", "none"]) == 0
    assert '"n4"' in capsys.readouterr().out
    # both at once: the nodes of the example, the screen of the picture
    out = tmp_path / "chain.svg"
    assert run(["--example", "chain", "--size", "50", "--svg", str(out), "--size", "100x30"]) == 0
    text = plain(out.read_text())
    assert "n49" in text and "n999" not in text
    assert run(["--example", "chain", "--size", "lots", "--json"]) == 2
    assert "number of nodes" in capsys.readouterr().err


# --------------------------------------------------------------------------- a real terminal


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_classroom_keys_in_a_real_terminal(size):
    term = Tmux(*size)
    try:
        term.wait_for("Press n or → to evaluate")
        term.keys("f", "f", "Down", "Down")  # from the first input: a, u, b
        if size[1] >= 36:  # at 80×24 the chain is further down the panel (the mouse wheel scrolls it)
            term.wait_for("Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2   ∂u/∂b = c = 2")
            term.wait_for("2 × 1 × 3 = 6 = ΔJ/Δb")
        term.keys("o")
        term.wait_for("dJ/db = 6")
        term.keys("o")
        screen = term.wait_for("db = 6")
        assert "dx means dJ/dx" in screen
        term.keys("P")
        term.wait_for("Presentation mode")
        deadline = time.monotonic() + 10
        while "Transcript" in term.screen() and time.monotonic() < deadline:  # the layout follows the message
            time.sleep(0.1)
        assert "Transcript" not in term.screen()
        term.keys("P")
        term.wait_for("Transcript")
        term.keys("q")
        term.wait_for("EXITED 0")
    finally:
        term.close()


async def test_the_classroom_keys_work_while_a_guess_waits():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g", "n")
        await pilot.pause()
        assert app.session.pending is not None
        app.query_one("#tree").focus()  # the guess field would take the letters
        await pilot.press("o", "P")
        await pilot.pause()
        assert app.session.notation_style == "d" and app.presenting
        assert app.session.pending is not None  # the question is still open


async def test_on_a_big_graph_the_chain_comes_with_the_panels_worker():
    from engine import load_bytes
    from engine.examples import generate
    from engine.session import DebugSession
    from tui.app import CgtuiApp
    from tui.widgets.panels import FdPanel

    session = DebugSession(load_bytes(generate("chain", 2500, None).encode(), "(example chain)"))
    app = CgtuiApp(session, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        app.query_one("#tree").select_name("x")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.selected == "x" and session.chain_ready("x")
        text = app.query_one(FdPanel)._text.plain
        assert "x reaches n2499 by 2,500 paths (the first 3)" in text
        assert "… 2,488 more" in text and "… 2,488 more links …" in text  # 2,500 links: the first and last six


async def test_x_goes_to_the_current_folder_when_the_graphs_refuses(tmp_path, monkeypatch):
    import tui.classroom as classroom

    graph_dir, here = tmp_path / "graphs", tmp_path / "here"
    graph_dir.mkdir()
    here.mkdir()
    shutil.copy(LECTURE, graph_dir / "lecture.yaml")
    monkeypatch.chdir(here)
    real = classroom.write_new_text

    def refuse_graph_dir(path, text):
        if path.parent == graph_dir:
            raise PermissionError(13, "Permission denied")
        real(path, text)

    monkeypatch.setattr(classroom, "write_new_text", refuse_graph_dir)
    app = make_app(graph_dir / "lecture.yaml", watch_file=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x")
        await pilot.pause()
        assert [p.name for p in here.iterdir()] == ["lecture-step0.svg"]
        monkeypatch.setattr(classroom, "write_new_text", lambda path, text: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")))
        await pilot.press("x")
        await pilot.pause()
        assert "cannot save the screen: Permission denied. Nothing was written." in " ".join(
            widget_text(app, "#message").split())


async def test_the_why_page_and_the_sweep_follow_the_notation():
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "down", "down", "o", "y")
        await pilot.pause()
        text = screen_text(app)
        assert "Why dJ/db = 6?" in text and "dJ/dv · dv/du · du/db = 3 · 1 · c" in text and "∂" not in text
        await pilot.press("escape", "o", "s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "estimates of db against h" in text and "db = 6 by backprop" in text


async def test_a_shared_url_sets_the_notation(lecture_copy):
    """cgtui serve's ?notation=d reaches CgtuiApp.set_notation: the page opens in the page's notation."""
    from engine import load_path as load
    from tui.browser import BrowserApp, open_session

    session, share = open_session(load(lecture_copy), {}, 1e-3, "step=8&notation=d")
    app = BrowserApp(session, share, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.session.notation_style == "d"
        assert "dJ/db = 6" in tree_line(app, "b")
