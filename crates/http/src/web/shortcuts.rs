//! The keyboard shortcuts' help, shown by `?` on every page (`assets/nav.js` does the keys).

use maud::{Markup, html};

/// The shortcuts, as the help lists them: keys and what they do.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("?", "Show or hide this help"),
    ("s", "Search cases"),
    ("j", "Next case (in the order of the last queue or search)"),
    ("k", "Previous case"),
    ("m", "Choose a macro for the reply (Enter inserts it)"),
    ("Ctrl+Enter", "Send the form you are typing in (the reply, a note …)"),
    ("/", "Type in the page's first form"),
    ("g q", "Go to my queue"),
    ("Esc", "Close this help"),
];

/// The help dialog, hidden until `?` is pressed.
pub fn help() -> Markup {
    html! {
        div #shortcut-help .shortcut-help role="dialog" aria-modal="false" aria-labelledby="shortcut-title" tabindex="-1" hidden {
            h2 #shortcut-title { "Keyboard shortcuts" }
            dl {
                @for (keys, what) in SHORTCUTS {
                    dt { @for (i, key) in keys.split(' ').enumerate() { @if i > 0 { " then " } kbd { (key) } } }
                    dd { (what) }
                }
            }
            button type="button" data-close { "Close" }
        }
    }
}
