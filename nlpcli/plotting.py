"""Matplotlib with Hangul: a Korean-capable font, the Agg backend, no missing-glyph boxes.

Matplotlib's default font (DejaVu Sans) has no Hangul, so Korean labels come out as boxes with
"Glyph ... missing from font" warnings. :func:`korean_figure_setup` finds a font that covers
Hangul (``--font FILE``, else the NanumGothic that the koreanize-matplotlib package ships, a
dependency of nlpcli, so a pip install alone draws Hangul; else a known family installed on the
system such as Debian's ``fonts-nanum``, else any system font whose character map has Hangul
syllables) and makes it the
first font of matplotlib's fallback list, DejaVu Sans second (for Latin, digits, symbols). Used by
``embed plot`` and by attention plots.
"""

from __future__ import annotations

import os

from nlpcli.errors import DependencyError, UsageError

#: font families known to cover Hangul, best first
KOREAN_FAMILIES = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Noto Sans CJK JP",
    "Source Han Sans KR",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "AppleGothic",
    "UnDotum",
    "Baekmuk Gulim",
    "NanumMyeongjo",
)
#: characters a usable font must have: Hangul syllables (가, 한, 힣) and compatibility jamo (ㅋ)
PROBE = "가한힣ㅋ"
#: fonts shipped by Python packages: (package, path inside it); found without importing the
#: package (koreanize_matplotlib changes matplotlib's settings when imported)
PACKAGED_FONTS = (("koreanize_matplotlib", "fonts/NanumGothic.ttf"),)
INSTALL_HINT = (
    "pip install koreanize-matplotlib (it ships NanumGothic), or install a Korean font "
    "(Debian/Ubuntu: apt-get install fonts-nanum; Fedora: google-noto-sans-cjk-fonts; "
    "macOS and Windows have one), or pass --font FILE.ttf"
)

_CHOSEN: dict[str | None, str] = {}


def covers(path: str, text: str = PROBE) -> bool:
    """Whether the font file at ``path`` has glyphs for every character of ``text``."""
    try:
        from fontTools.ttLib import TTCollection, TTFont

        if path.lower().endswith((".ttc", ".otc")):
            fonts = TTCollection(path, lazy=True).fonts
        else:
            fonts = [TTFont(path, lazy=True, fontNumber=0)]
        try:
            for font in fonts:
                cmap = font.getBestCmap() or {}
                if all(ord(ch) in cmap for ch in text):
                    return True
            return False
        finally:
            for font in fonts:
                font.close()
    except Exception:  # unreadable or not a font
        return False


def packaged_font() -> str | None:
    """The path of a Hangul font shipped by an installed Python package, if any."""
    import importlib.util

    for package, relative in PACKAGED_FONTS:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = os.path.join(folder, *relative.split("/"))
            if os.path.isfile(path) and covers(path):
                return path
    return None


def find_korean_font(font: str | None = None) -> str:
    """The path of a font with Hangul glyphs (``font`` if given), or a DependencyError saying how to get one."""
    if font in _CHOSEN:
        return _CHOSEN[font]
    if font is not None:
        if not os.path.isfile(font):
            raise UsageError(f"--font {font}: no such file")
        if not covers(font):
            raise UsageError(
                f"--font {font}: this font has no Hangul glyphs; give a Korean font "
                "(e.g. NanumGothic.ttf from fonts-nanum)"
            )
        _CHOSEN[font] = font
        return font
    path = packaged_font()
    if path:
        _CHOSEN[None] = path
        return path
    from matplotlib import font_manager

    entries = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in KOREAN_FAMILIES:
        path = entries.get(family)
        if path and covers(path):
            _CHOSEN[None] = path
            return path
    for path in sorted(font_manager.findSystemFonts()):
        if covers(path):
            _CHOSEN[None] = path
            return path
    raise DependencyError(f"no font with Hangul glyphs found; {INSTALL_HINT}")


def korean_figure_setup(font: str | None = None):
    """Agg backend, a Hangul font first in the fallback list; returns ``matplotlib.pyplot``."""
    try:
        import matplotlib
    except ImportError:
        raise DependencyError("plots need matplotlib: pip install 'matplotlib>=3.6'") from None

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    path = find_korean_font(font)
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    matplotlib.rcParams["font.family"] = [name, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # Korean fonts often lack U+2212
    return plt


def save_figure(fig, output: str, dpi: int = 150) -> None:
    """Save atomically; the format comes from the extension of ``output``."""
    from nlpcli.textio import output_path

    ext = os.path.splitext(output or "")[1].lower().lstrip(".") or "png"
    if ext not in ("png", "svg", "pdf", "jpg", "jpeg"):
        raise UsageError(f"{output}: unknown image format {ext!r}; use .png, .svg or .pdf")
    with output_path(output) as tmp:
        fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
