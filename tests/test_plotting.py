"""Hangul in plots from a pip install alone: the font that koreanize-matplotlib ships comes first."""

from __future__ import annotations

import warnings

import pytest

from nlpcli import plotting
from nlpcli.errors import DependencyError


@pytest.fixture
def no_system_fonts(monkeypatch):
    """Matplotlib knows no fonts and finds none on the system (as on a bare machine)."""
    from matplotlib import font_manager

    monkeypatch.setattr(plotting, "_CHOSEN", {})
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])


def test_packaged_font_covers_hangul():
    pytest.importorskip("matplotlib")
    path = plotting.packaged_font()
    if path is None:
        pytest.skip("koreanize-matplotlib is not installed")
    assert path.endswith("NanumGothic.ttf") and plotting.covers(path)


def test_packaged_font_is_found_without_system_fonts(no_system_fonts):
    if plotting.packaged_font() is None:
        pytest.skip("koreanize-matplotlib is not installed")
    path = plotting.find_korean_font()
    assert path == plotting.packaged_font() and plotting.covers(path, "가나다한글힣ㅋㅎ")


def test_packaged_font_draws_hangul(no_system_fonts, tmp_path):
    if plotting.packaged_font() is None:
        pytest.skip("koreanize-matplotlib is not installed")
    import matplotlib

    rc = matplotlib.rcParams.copy()
    try:
        plt = plotting.korean_figure_setup()
        fig, ax = plt.subplots()
        ax.set_title("한글 제목 ㅋㅋ")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "Glyph ... missing from font" would fail here
            plotting.save_figure(fig, str(tmp_path / "k.png"))
        plt.close(fig)
    finally:
        matplotlib.rcParams.update(rc)
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"


def test_no_font_anywhere_says_what_to_install(no_system_fonts, monkeypatch):
    monkeypatch.setattr(plotting, "PACKAGED_FONTS", (("no_such_package_here", "fonts/x.ttf"),))
    with pytest.raises(DependencyError, match="pip install koreanize-matplotlib"):
        plotting.find_korean_font()


def test_importing_nlpcli_plotting_leaves_matplotlib_settings_alone():
    """Finding the packaged font does not import koreanize_matplotlib (which sets rcParams)."""
    import sys

    plotting.packaged_font()
    assert "koreanize_matplotlib" not in sys.modules
