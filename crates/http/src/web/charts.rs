//! Charts as hand-built SVG, drawn on the server: a line over time, horizontal bars by
//! category, and grouped bars for two series. Pure functions of their data (no I/O), so the
//! dashboard is readable without JavaScript. Every chart is a `figure` holding an SVG with
//! `role="img"`, a `<title>` and a `<desc>`, and a data table with the same figures (for
//! screen readers and for anyone who wants the numbers).

use maud::{Markup, PreEscaped, html};

/// Width and height of the drawing area's viewBox, in SVG units.
const WIDTH: f64 = 640.0;
/// Space for the axis labels.
const LEFT: f64 = 150.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 16.0;
const BAR_HEIGHT: f64 = 18.0;
const BAR_GAP: f64 = 8.0;

/// One point of a series: its label (a day, a team …) and its value (absent: no data).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub value: Option<f64>,
}

impl Point {
    pub fn new(label: impl Into<String>, value: Option<f64>) -> Self {
        Point { label: label.into(), value }
    }
}

/// How a chart writes its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A fraction shown as a percentage; the axis runs 0–100 %.
    Percent,
    /// A plain number; the axis runs from 0 to the largest value.
    Number,
    /// Seconds shown as a duration.
    Seconds,
    /// A score on a 1–5 scale (CSAT); the axis runs 0–5.
    Score,
}

impl Unit {
    pub fn format(self, v: Option<f64>) -> String {
        match (self, v) {
            (_, None) => "–".to_string(),
            (Unit::Percent, Some(v)) => format!("{:.1} %", v * 100.0),
            (Unit::Number, Some(v)) if v.fract() == 0.0 => format!("{v:.0}"),
            (Unit::Number, Some(v)) => format!("{v:.2}"),
            (Unit::Seconds, Some(v)) => super::layout::duration_text(v.round() as i64),
            (Unit::Score, Some(v)) => format!("{v:.2}"),
        }
    }

    /// The top of the value axis for data whose largest value is `max`.
    fn axis_max(self, max: f64) -> f64 {
        match self {
            Unit::Percent => 1.0,
            Unit::Score => 5.0,
            _ if max <= 0.0 => 1.0,
            _ => max,
        }
    }
}

/// The position of `value` on an axis of `length` units running from 0 to `max`.
pub fn scale(value: f64, max: f64, length: f64) -> f64 {
    if max <= 0.0 { 0.0 } else { (value.clamp(0.0, max) / max) * length }
}

fn max_of<'a>(values: impl Iterator<Item = &'a Option<f64>>) -> f64 {
    values.filter_map(|v| *v).fold(0.0, f64::max)
}

fn svg_open(id: &str, height: f64, title: &str, desc: &str) -> Markup {
    html! {
        (PreEscaped(format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" aria-labelledby="{id}-t {id}-d">"#
        )))
        title id=(format!("{id}-t")) { (title) }
        desc id=(format!("{id}-d")) { (desc) }
    }
}

fn data_table(caption: &str, columns: &[&str], rows: Vec<(String, Vec<String>)>) -> Markup {
    html! {
        details.chart-data {
            summary { "Data table" }
            div.table-wrap { table {
                caption { (caption) }
                thead { tr { @for c in columns { th scope="col" { (c) } } } }
                tbody { @for (label, cells) in rows { tr { th scope="row" { (label) } @for c in cells { td { (c) } } } } }
            } }
        }
    }
}

/// A line over time (one point per day or week); gaps where a point has no value.
pub fn line_chart(id: &str, title: &str, unit: Unit, points: &[Point]) -> Markup {
    let height = 220.0;
    let (left, bottom) = (48.0, height - 28.0);
    let plot_w = WIDTH - left - RIGHT;
    let plot_h = bottom - TOP;
    let max = unit.axis_max(max_of(points.iter().map(|p| &p.value)));
    let x = |i: usize| {
        if points.len() <= 1 { left + plot_w / 2.0 } else { left + plot_w * i as f64 / (points.len() - 1) as f64 }
    };
    let y = |v: f64| bottom - scale(v, max, plot_h);
    // Segments of consecutive points with values.
    let mut paths: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => {
                let cmd = if current.is_empty() { 'M' } else { 'L' };
                current.push_str(&format!("{cmd}{:.1},{:.1} ", x(i), y(v)));
            }
            None if !current.is_empty() => paths.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        paths.push(current);
    }
    let with_values = points.iter().filter(|p| p.value.is_some()).count();
    let desc = match (points.first(), points.last()) {
        (Some(first), Some(last)) => format!(
            "{} points from {} to {}, {} with data; highest {}.",
            points.len(),
            first.label,
            last.label,
            with_values,
            unit.format(points.iter().filter_map(|p| p.value).reduce(f64::max))
        ),
        _ => "No data.".to_string(),
    };
    let label_every = points.len().div_ceil(8).max(1);
    html! {
        figure.chart #(id) {
            figcaption { (title) }
            (svg_open(id, height, title, &desc))
            g.axis {
                line x1=(left) y1=(bottom) x2=(WIDTH - RIGHT) y2=(bottom) {}
                line x1=(left) y1=(TOP) x2=(left) y2=(bottom) {}
                @for tick in [0.0, 0.5, 1.0] {
                    text x=(left - 4.0) y=(format!("{:.1}", y(tick * max) + 4.0)) text-anchor="end" { (unit.format(Some(tick * max))) }
                    line.grid x1=(left) y1=(format!("{:.1}", y(tick * max))) x2=(WIDTH - RIGHT) y2=(format!("{:.1}", y(tick * max))) {}
                }
                @for (i, p) in points.iter().enumerate() {
                    @if (i % label_every == 0 && i + label_every / 2 + 1 < points.len()) || i + 1 == points.len() {
                        text x=(format!("{:.1}", x(i))) y=(bottom + 16.0) text-anchor="middle" { (p.label) }
                    }
                }
            }
            @for d in &paths { path.series d=(d.trim()) fill="none" {} }
            @for (i, p) in points.iter().enumerate() {
                @if let Some(v) = p.value {
                    circle.series cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(v))) r="3" {
                        title { (p.label) ": " (unit.format(Some(v))) }
                    }
                }
            }
            (PreEscaped("</svg>"))
            (data_table(title, &["Period", "Value"], points.iter().map(|p| (p.label.clone(), vec![unit.format(p.value)])).collect()))
        }
    }
}

/// Horizontal bars, one per category, longest scale at the largest value.
pub fn bar_chart(id: &str, title: &str, unit: Unit, points: &[Point]) -> Markup {
    grouped_bar_chart(
        id,
        title,
        unit,
        &[""],
        &points.iter().map(|p| (p.label.clone(), vec![p.value])).collect::<Vec<_>>(),
    )
}

/// Horizontal bars grouped by category, one bar per series (`series` names them, e.g.
/// "escalated" and "not escalated"); one series draws a plain bar chart.
pub fn grouped_bar_chart(
    id: &str,
    title: &str,
    unit: Unit,
    series: &[&str],
    groups: &[(String, Vec<Option<f64>>)],
) -> Markup {
    let n_series = series.len().max(1);
    let group_h = BAR_HEIGHT * n_series as f64 + BAR_GAP;
    let legend_h = if n_series > 1 { 20.0 } else { 0.0 };
    let height = TOP + legend_h + group_h * groups.len().max(1) as f64 + 24.0;
    let plot_w = WIDTH - LEFT - RIGHT - 60.0;
    let max = unit.axis_max(max_of(groups.iter().flat_map(|(_, v)| v.iter())));
    let top = TOP + legend_h;
    let axis_y = top + group_h * groups.len().max(1) as f64;
    let desc = if groups.is_empty() {
        "No data.".to_string()
    } else {
        groups
            .iter()
            .map(|(label, values)| {
                let parts: Vec<String> = series
                    .iter()
                    .zip(values)
                    .map(|(s, v)| if s.is_empty() { unit.format(*v) } else { format!("{s} {}", unit.format(*v)) })
                    .collect();
                format!("{label}: {}", parts.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let columns: Vec<&str> =
        std::iter::once("Category").chain(series.iter().map(|s| if s.is_empty() { "Value" } else { s })).collect();
    html! {
        figure.chart #(id) {
            figcaption { (title) }
            (svg_open(id, height, title, &desc))
            @if n_series > 1 {
                g.legend {
                    @for (s, name) in series.iter().enumerate() {
                        rect class=(format!("series-{s}")) x=(LEFT + 140.0 * s as f64) y=(TOP - 10.0) width="12" height="12" {}
                        text x=(LEFT + 140.0 * s as f64 + 16.0) y=(TOP) { (name) }
                    }
                }
            }
            g.axis {
                line x1=(LEFT) y1=(top) x2=(LEFT) y2=(axis_y) {}
                line x1=(LEFT) y1=(axis_y) x2=(LEFT + plot_w) y2=(axis_y) {}
                text x=(LEFT) y=(axis_y + 16.0) text-anchor="middle" { (unit.format(Some(0.0))) }
                text x=(LEFT + plot_w) y=(axis_y + 16.0) text-anchor="middle" { (unit.format(Some(max))) }
            }
            @for (g, (label, values)) in groups.iter().enumerate() {
                @let gy = top + group_h * g as f64;
                text.label x=(LEFT - 6.0) y=(format!("{:.1}", gy + BAR_HEIGHT * n_series as f64 / 2.0 + 4.0)) text-anchor="end" { (label) }
                @for (s, v) in values.iter().enumerate() {
                    @let by = gy + BAR_HEIGHT * s as f64;
                    @let w = v.map(|v| scale(v, max, plot_w)).unwrap_or(0.0);
                    rect class=(format!("bar series-{s}")) x=(LEFT) y=(format!("{by:.1}")) width=(format!("{w:.1}")) height=(BAR_HEIGHT - 2.0) {
                        title { (label) @if n_series > 1 { " · " (series[s]) } ": " (unit.format(*v)) }
                    }
                    text.value x=(format!("{:.1}", LEFT + w + 4.0)) y=(format!("{:.1}", by + BAR_HEIGHT - 5.0)) { (unit.format(*v)) }
                }
            }
            (PreEscaped("</svg>"))
            (data_table(title, &columns, groups.iter().map(|(label, values)| (label.clone(), values.iter().map(|v| unit.format(*v)).collect())).collect()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SVG of a rendered chart, checked to be well-formed XML.
    fn svg_of(markup: &Markup) -> roxmltree_lite::Element {
        let html = markup.0.as_str();
        let start = html.find("<svg").expect("an svg");
        let end = html.find("</svg>").expect("a closed svg") + "</svg>".len();
        roxmltree_lite::parse(&html[start..end]).expect("well-formed svg")
    }

    /// A minimal XML reader for the tests: enough to check nesting and read attributes.
    mod roxmltree_lite {
        #[derive(Debug)]
        pub struct Element {
            pub name: String,
            pub attributes: Vec<(String, String)>,
            pub children: Vec<Element>,
            pub text: String,
        }

        impl Element {
            pub fn attr(&self, name: &str) -> Option<&str> {
                self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
            }
            pub fn descendants(&self) -> Vec<&Element> {
                let mut out = vec![self];
                for c in &self.children {
                    out.extend(c.descendants());
                }
                out
            }
        }

        pub fn parse(s: &str) -> Result<Element, String> {
            let mut stack: Vec<Element> =
                vec![Element { name: String::new(), attributes: vec![], children: vec![], text: String::new() }];
            let mut rest = s;
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix("</") {
                    let end = after.find('>').ok_or("unclosed end tag")?;
                    let name = &after[..end];
                    let el = stack.pop().ok_or("too many end tags")?;
                    if el.name != name {
                        return Err(format!("</{name}> closes <{}>", el.name));
                    }
                    stack.last_mut().ok_or("end tag at top")?.children.push(el);
                    rest = &after[end + 1..];
                } else if let Some(after) = rest.strip_prefix('<') {
                    let end = after.find('>').ok_or("unclosed tag")?;
                    let mut tag = &after[..end];
                    let self_closing = tag.ends_with('/');
                    if self_closing {
                        tag = &tag[..tag.len() - 1];
                    }
                    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
                    let name = tag[..name_end].to_string();
                    let mut attributes = Vec::new();
                    let mut a = tag[name_end..].trim();
                    while !a.is_empty() {
                        let eq = a.find('=').ok_or(format!("attribute without value in <{name}>"))?;
                        let key = a[..eq].trim().to_string();
                        let v = a[eq + 1..].strip_prefix('"').ok_or("unquoted attribute")?;
                        let close = v.find('"').ok_or("unterminated attribute")?;
                        attributes.push((key, v[..close].to_string()));
                        a = v[close + 1..].trim();
                    }
                    let el = Element { name, attributes, children: vec![], text: String::new() };
                    if self_closing {
                        stack.last_mut().ok_or("no parent")?.children.push(el);
                    } else {
                        stack.push(el);
                    }
                    rest = &after[end + 1..];
                } else {
                    let end = rest.find('<').unwrap_or(rest.len());
                    if rest[..end].contains('&') && !rest[..end].contains(';') {
                        return Err("bare ampersand".into());
                    }
                    stack.last_mut().ok_or("text at top")?.text.push_str(&rest[..end]);
                    rest = &rest[end..];
                }
            }
            let mut root = stack.pop().ok_or("empty")?;
            if !stack.is_empty() {
                return Err(format!("unclosed <{}>", root.name));
            }
            if root.children.len() != 1 {
                return Err("not one root element".into());
            }
            Ok(root.children.remove(0))
        }
    }

    fn bars(svg: &roxmltree_lite::Element) -> Vec<f64> {
        svg.descendants()
            .into_iter()
            .filter(|e| e.name == "rect" && e.attr("class").is_some_and(|c| c.contains("bar")))
            .map(|e| e.attr("width").unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn the_scale_maps_zero_to_zero_and_the_maximum_to_the_length() {
        for (value, max, length, expected) in [
            (0.0, 10.0, 100.0, 0.0),
            (10.0, 10.0, 100.0, 100.0),
            (5.0, 10.0, 100.0, 50.0),
            (20.0, 10.0, 100.0, 100.0),
            (-1.0, 10.0, 100.0, 0.0),
            (3.0, 0.0, 100.0, 0.0),
        ] {
            assert_eq!(scale(value, max, length), expected, "{value} of {max}");
        }
    }

    #[test]
    fn a_bar_chart_is_well_formed_titled_and_scaled_to_its_largest_value() {
        let points = vec![Point::new("chat", Some(4.0)), Point::new("email <&>", Some(2.0)), Point::new("phone", None)];
        let chart = bar_chart("by-channel", "Cases by channel", Unit::Number, &points);
        let svg = svg_of(&chart);
        assert_eq!(svg.name, "svg");
        assert_eq!(svg.attr("role"), Some("img"));
        let title = svg.children.iter().find(|c| c.name == "title").expect("a title");
        assert_eq!(title.text, "Cases by channel");
        let desc = svg.children.iter().find(|c| c.name == "desc").expect("a desc");
        assert!(desc.text.contains("chat: 4"), "{}", desc.text);
        let widths = bars(&svg);
        assert_eq!(widths.len(), 3);
        assert!((widths[0] - 2.0 * widths[1]).abs() < 0.2, "{widths:?}");
        assert_eq!(widths[2], 0.0);
        // The fallback table has every value.
        assert!(
            chart.0.contains("<table>") && chart.0.contains("email &lt;&amp;&gt;") && chart.0.contains("<td>4</td>")
        );
    }

    #[test]
    fn percent_bars_are_scaled_to_one_hundred_percent() {
        let chart = bar_chart("x", "Rate", Unit::Percent, &[Point::new("a", Some(0.5)), Point::new("b", Some(0.25))]);
        let widths = bars(&svg_of(&chart));
        let full = WIDTH - LEFT - RIGHT - 60.0;
        assert!((widths[0] - full / 2.0).abs() < 0.1 && (widths[1] - full / 4.0).abs() < 0.1, "{widths:?}");
        assert!(chart.0.contains("50.0 %"));
    }

    #[test]
    fn grouped_bars_draw_one_bar_per_series_and_a_legend() {
        let groups = vec![("L1".to_string(), vec![Some(3.0), Some(1.0)]), ("L2".to_string(), vec![Some(6.0), None])];
        let chart = grouped_bar_chart("g", "CSAT", Unit::Number, &["escalated", "not escalated"], &groups);
        let svg = svg_of(&chart);
        let widths = bars(&svg);
        assert_eq!(widths.len(), 4);
        assert!((widths[2] - 2.0 * widths[0]).abs() < 0.2 && widths[3] == 0.0, "{widths:?}");
        assert!(svg.descendants().iter().any(|e| e.name == "text" && e.text == "not escalated"));
    }

    #[test]
    fn a_line_chart_puts_the_highest_point_at_the_top_and_breaks_at_gaps() {
        let points = vec![
            Point::new("d1", Some(0.2)),
            Point::new("d2", Some(0.4)),
            Point::new("d3", None),
            Point::new("d4", Some(1.0)),
        ];
        let chart = line_chart("l", "Escalation rate", Unit::Percent, &points);
        let svg = svg_of(&chart);
        let paths: Vec<_> = svg.descendants().into_iter().filter(|e| e.name == "path").collect();
        assert_eq!(paths.len(), 2, "a gap splits the line");
        let ys: Vec<f64> = svg
            .descendants()
            .into_iter()
            .filter(|e| e.name == "circle")
            .map(|e| e.attr("cy").unwrap().parse().unwrap())
            .collect();
        assert_eq!(ys.len(), 3);
        assert_eq!(ys[2], TOP, "100 % is the top of the plot");
        assert!(ys[0] > ys[1], "a higher value is drawn higher");
        assert!(chart.0.contains("<td>–</td>"), "the table shows the gap");
    }

    #[test]
    fn empty_charts_still_render_well_formed() {
        svg_of(&line_chart("e", "Nothing", Unit::Number, &[]));
        svg_of(&bar_chart("f", "Nothing", Unit::Seconds, &[]));
    }
}
