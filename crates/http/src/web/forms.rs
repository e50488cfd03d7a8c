//! Forms that keep what was typed. A refused post redirects back to its page (Post/Redirect/
//! Get) with the values it carried and the field the refusal named, in a one-shot cookie
//! beside the flash message; the page renders that form open again, its fields filled in, and
//! the error beside the field under the field's label. One mechanism for every form: a page
//! renders its fields with [`text_input`], [`text_area`] and [`selected`], and a handler
//! answers a refusal with [`refused`].

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use maud::{Markup, html};

use super::session::{self, Flash, redirect_with};
use crate::error::ApiError;

/// The cookie that carries a refused form back to its page.
pub const KEPT_COOKIE: &str = "ladder_form";

/// At most this many bytes of encoded values ride in the cookie (a browser keeps 4 KiB per
/// cookie); beyond, the longest value is shortened until the form fits.
const KEPT_BUDGET: usize = 3000;

/// Reserved names in the cookie, which no form field uses (fields are lower-case words).
const ACTION: &str = "_action";
const FIELD: &str = "_field";
const ERROR: &str = "_error";

/// A refused form, back on its page: where it posts, what it carried, and what was wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kept {
    /// The form's `action` (the path it posts to).
    pub action: String,
    pub values: Vec<(String, String)>,
    /// The wire name of the field the refusal named, if it named one.
    pub field: Option<String>,
    /// Why the field was refused, without the wire name (`is required when …`).
    pub error: String,
}

/// What a page knows of the form it renders: the refused form if it was this one.
#[derive(Clone, Copy, Default)]
pub struct FormState<'k> {
    kept: Option<&'k Kept>,
}

impl<'k> FormState<'k> {
    /// The state of the form posting to `action`, given the page's refused form.
    pub fn of(kept: Option<&'k Kept>, action: &str) -> Self {
        FormState { kept: kept.filter(|k| k.action == action) }
    }

    /// Whether this form was just refused (its panel is shown open again).
    pub fn refused(&self) -> bool {
        self.kept.is_some()
    }

    /// What was typed into `name`, if this form was refused.
    pub fn value(&self, name: &str) -> Option<&'k str> {
        self.kept?.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value sent as `name` (a field sent several times, like ticked boxes), if this
    /// form was refused.
    pub fn values(&self, name: &'k str) -> impl Iterator<Item = &'k str> + 'k {
        self.kept
            .into_iter()
            .flat_map(move |k| k.values.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str()))
    }

    /// The refusal's words for `name`, if it named that field.
    fn error(&self, name: &str) -> Option<&'k str> {
        self.kept.filter(|k| k.field.as_deref() == Some(name)).map(|k| k.error.as_str())
    }
}

/// A field's label (with a visible "required" marker) and its error beside it, in words.
fn label_and_error(state: FormState, id: &str, name: &str, label: &str, required: bool) -> Markup {
    html! {
        label for=(id) {
            (label)
            // The words first, so the label reads "Name (required)" to everyone.
            @if required { span.visually-hidden { " (required)" } " " span.required-mark aria-hidden="true" { "*" } }
        }
        @if let Some(error) = state.error(name) {
            p.field-error id=(format!("{id}-error")) role="alert" { (label) ": " (error) }
        }
    }
}

/// A one-line text input, with its label, the value kept from a refused post and its error;
/// `list` names a `datalist` of suggestions.
pub fn text_input(state: FormState, id: &str, name: &str, label: &str, required: bool, list: Option<&str>) -> Markup {
    let error = state.error(name).is_some();
    html! {
        (label_and_error(state, id, name, label, required))
        input id=(id) name=(name) type="text" autocomplete="off" required[required] value=[state.value(name)] list=[list]
            aria-invalid=[error.then_some("true")] aria-describedby=[error.then(|| format!("{id}-error"))];
    }
}

/// A text area, as [`text_input`].
pub fn text_area(state: FormState, id: &str, name: &str, label: &str, rows: u32, required: bool) -> Markup {
    let error = state.error(name).is_some();
    html! {
        (label_and_error(state, id, name, label, required))
        textarea id=(id) name=(name) rows=(rows) required[required]
            aria-invalid=[error.then_some("true")] aria-describedby=[error.then(|| format!("{id}-error"))] {
            (state.value(name).unwrap_or_default())
        }
    }
}

/// Whether `value` of the choice `name` (a select's option, a radio button) is the one to
/// mark chosen: the one sent when the form was refused, else the default.
pub fn selected(state: FormState, name: &str, value: &str, default: bool) -> bool {
    match state.value(name) {
        Some(sent) => sent == value,
        None => default,
    }
}

/// A form's type from the fields posted (for a handler that takes the fields as they came,
/// to gather or leave out some first): a field missing or malformed is a 422 page.
pub fn decode_fields<'f, T: serde::de::DeserializeOwned>(
    fields: impl Iterator<Item = &'f (String, String)>,
) -> Result<T, super::WebError> {
    let fields: Vec<&(String, String)> = fields.collect();
    let encoded = serde_urlencoded::to_string(&fields).unwrap_or_default();
    serde_urlencoded::from_str(&encoded).map_err(|e| {
        super::WebError::status(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid form",
            format!("the form is incomplete: {e}"),
        )
    })
}

/// The answer to a refused form post: back to `back` with the refusal as the flash message
/// and the form's values kept for the page. A refusal that names a field is told beside it.
pub fn refused(back: &str, action: &str, fields: &[(String, String)], error: ApiError) -> Response {
    let problem = error.0;
    let error_words = match &problem.field {
        Some(field) => problem.detail.strip_prefix(&format!("{field}: ")).unwrap_or(&problem.detail).to_string(),
        None => problem.detail.clone(),
    };
    let message = match &problem.field {
        Some(_) => "Not done: the form needs a correction, marked below; what you typed is kept.".to_string(),
        None => format!("Not done: {}", problem.detail),
    };
    let kept =
        Kept { action: action.to_string(), values: fields.to_vec(), field: problem.field.clone(), error: error_words };
    let mut response = redirect_with(back, Some(Flash { ok: false, message }));
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{KEPT_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60",
        encode(&kept)
    )) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The refused form the request carries back, if any.
pub fn kept(headers: &HeaderMap) -> Option<Kept> {
    decode(session::cookie_str(headers, KEPT_COOKIE)?)
}

/// `Set-Cookie` that forgets a shown form.
pub fn clear_kept_cookie() -> HeaderValue {
    HeaderValue::from_static("ladder_form=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Form encoding keeps every character a valid cookie value (`%XX`, `+`, `&`, `=`).
fn encode(kept: &Kept) -> String {
    let mut values = kept.values.clone();
    loop {
        let mut pairs: Vec<(&str, &str)> = vec![(ACTION, &kept.action), (ERROR, &kept.error)];
        if let Some(field) = &kept.field {
            pairs.push((FIELD, field));
        }
        pairs.extend(values.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let encoded = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if encoded.len() <= KEPT_BUDGET {
            return encoded;
        }
        // Shorten the longest value by half; an empty longest value means the names alone
        // are too many, and the form is not kept.
        let Some(longest) = values.iter_mut().max_by_key(|(_, v)| v.len()).filter(|(_, v)| !v.is_empty()) else {
            return String::new();
        };
        let half = longest.1.floor_char_boundary(longest.1.len() / 2);
        longest.1.truncate(half);
    }
}

fn decode(raw: &str) -> Option<Kept> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).ok()?;
    let mut kept = Kept::default();
    for (k, v) in pairs {
        match k.as_str() {
            ACTION => kept.action = v,
            FIELD => kept.field = Some(v),
            ERROR => kept.error = v,
            _ => kept.values.push((k, v)),
        }
    }
    (!kept.action.is_empty()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(values: &[(&str, &str)]) -> Kept {
        Kept {
            action: "/cases/7/escalate".into(),
            values: values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            field: Some("tried".into()),
            error: "is required".into(),
        }
    }

    #[test]
    fn a_kept_form_survives_any_text_as_a_cookie_value() {
        let form = kept(&[("reason", "a; b=\"ü\" & c, d\n\te"), ("tried", "")]);
        let encoded = encode(&form);
        assert!(encoded.bytes().all(|b| b.is_ascii_graphic() && !b";,\"\\".contains(&b)), "{encoded}");
        assert_eq!(decode(&encoded), Some(form));
    }

    #[test]
    fn a_long_form_is_shortened_to_fit_a_cookie() {
        let long = "é".repeat(5000);
        let encoded = encode(&kept(&[("reason", &long), ("tried", "line test")]));
        assert!(encoded.len() <= KEPT_BUDGET);
        let back = decode(&encoded).unwrap();
        assert_eq!(back.values[1], ("tried".to_string(), "line test".to_string()));
        assert!(back.values[0].1.starts_with("éé") && back.values[0].1.len() < long.len());
    }

    #[test]
    fn fields_show_the_kept_value_and_the_error_under_their_label() {
        let form = kept(&[("reason", "needs billing"), ("tried", "")]);
        let state = FormState::of(Some(&form), "/cases/7/escalate");
        let html = text_area(state, "esc-tried", "tried", "What was tried", 2, true).into_string();
        assert!(html.contains("What was tried: is required"), "{html}");
        assert!(html.contains("required") && html.contains("aria-invalid=\"true\""), "{html}");
        let html = text_area(state, "esc-reason", "reason", "Reason", 2, true).into_string();
        assert!(html.contains(">needs billing</textarea>") && !html.contains("field-error"), "{html}");
        let other = FormState::of(Some(&form), "/cases/7/note");
        assert!(!other.refused() && other.value("reason").is_none());
    }
}
