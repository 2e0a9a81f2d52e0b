"""``?``: the keys that work everywhere, then those of the view underneath."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from moment_tui.ui.present import Hanging

EVERYWHERE = (
    "Everywhere  g Go to (any id or reference) · 1-5 Home, Customers, Accounts, Bills,"
    " Requests · Ctrl+P every action · Ctrl+N mask personal data · Esc back · q quit"
)
# A form leaves single keys to its fields (MomentApp.check_action): it says so instead.
IN_A_FORM = (
    "In a form  letters, digits, g, q and ? are text · Ctrl+P every action · Ctrl+N mask"
    " personal data · Esc close · Ctrl+C quit"
)
SKIP = frozenset({"ctrl+c", "q", "g", "question_mark", "escape", "1", "2", "3", "4", "5"})
# Textual's own keys on every widget (scrolling, focus, copying a selection, its quit
# and palette): named once in EVERYWHERE, or not worth a line.
INTERNAL = ("scroll_", "page_", "focus_", "copy_text", "quit", "command_palette", "cursor_")
MOVE_KEYS = "↑ ↓ j k"  # single spaces: two would end the key column there
MOVES = "move (j / k like the arrows); PgUp PgDn Home End: by a page, to either end"


def keys_text(screen: Screen[object]) -> str:
    """The keys that work everywhere, then the screen's own, each once."""
    lines = [f"Keys · {getattr(screen, 'crumb', '') or 'this view'}", ""]
    extra = dict(getattr(screen, "EXTRA_KEYS", ()))
    covered = {part.strip().lower() for keys in extra for part in keys.split(" / ")}
    rows: list[tuple[str, str]] = []
    moves = False
    seen: set[str] = set()
    form = getattr(screen, "is_form", False)
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if form and active.node is not screen and active.node is not screen.app:
            continue  # a field's own keys (editing text, a list's arrows): not the form's
        action = binding.action.split("(")[0].split(".")[-1]
        shown = binding.key_display or key
        if action.startswith("cursor_") and action != "cursor_select":
            moves = True
        if key in SKIP or not binding.description or action.startswith(INTERNAL):
            continue
        if shown.lower() in covered or binding.description in seen:  # ctrl+s is Ctrl+S
            continue
        seen.add(binding.description)
        rows.append((shown, binding.description))
    if moves:
        # Its keys kept short: the widest key sets where every description starts.
        rows.insert(0, (MOVE_KEYS, MOVES))
    rows += list(extra.items())
    width = max((len(k) for k, _ in rows), default=4) + 2
    # The keys that work everywhere first, on two lines: at 80x24 they must show
    # without scrolling (Go to above all).
    lines[1:1] = [IN_A_FORM if form else EVERYWHERE]
    lines += [f"  {k.ljust(width)}{text}" for k, text in rows]
    return "\n".join(lines)


class KeysHelp(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", key_display="Esc"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.text = keys_text(under)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="keys-help"):
            yield Static(Hanging(self.text), markup=False)
        yield Footer()
