//! The API reference as one self-contained HTML page, rendered from the document.

use serde_json::{Map, Value};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `code spans`.
fn inline(text: &str) -> String {
    let mut html = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            html.push_str(&format!("<code>{}</code>", escape(part)));
        } else {
            html.push_str(&escape(part));
        }
    }
    html
}

/// Escaped text with `code spans` and paragraphs.
pub(super) fn prose(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| format!("<p>{}</p>", inline(paragraph)))
        .collect()
}

fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// A schema as a short type expression, with links to named schemas.
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("<a href=\"#schema-{}\">{}</a>", anchor(name), escape(name));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema.get(combinator).and_then(Value::as_array) {
            let joiner = if combinator == "allOf" {
                " &amp; "
            } else {
                " | "
            };
            return variants
                .iter()
                .map(type_of)
                .collect::<Vec<_>>()
                .join(joiner);
        }
    }
    let mut kinds: Vec<String> = match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.clone()],
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec!["any".to_owned()],
    };
    for kind in kinds.iter_mut() {
        if kind == "array" {
            let items = schema.get("items").map_or("any".to_owned(), type_of);
            *kind = format!("array of {items}");
        } else {
            *kind = escape(kind);
        }
    }
    let mut text = kinds.join(" | ");
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        text.push_str(&format!(" <span class=\"fmt\">({})</span>", escape(format)));
    }
    text
}

fn constraints(schema: &Value) -> String {
    let mut notes = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        notes.push(format!("one of {}", values.join(", ")));
    }
    for (key, label) in [
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
    ] {
        if let Some(value) = schema.get(key) {
            notes.push(format!("{label} {}", escape(&value.to_string())));
        }
    }
    notes.join("; ")
}

fn render_schema(name: &str, schema: &Value) -> String {
    let mut html = format!(
        "<section class=\"schema\" id=\"schema-{}\"><h3>{}</h3>",
        anchor(name),
        escape(name)
    );
    html.push_str(&prose(str_of(schema, "description")));
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match schema.get("properties").and_then(Value::as_object) {
        Some(properties) => {
            html.push_str(
                "<table><thead><tr><th>field</th><th>type</th><th>required</th>\
                 <th>constraints</th><th>meaning</th></tr></thead><tbody>",
            );
            for (field, property) in properties {
                html.push_str(&format!(
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(field),
                    type_of(property),
                    if required.contains(&field.as_str()) {
                        "yes"
                    } else {
                        "no"
                    },
                    constraints(property),
                    prose(str_of(property, "description")),
                ));
            }
            html.push_str("</tbody></table>");
        }
        None => html.push_str(&format!("<p>{}</p>", type_of(schema))),
    }
    html.push_str("</section>");
    html
}

fn bodies(content: Option<&Map<String, Value>>) -> String {
    let Some(content) = content else {
        return "—".to_owned();
    };
    content
        .iter()
        .map(|(media, body)| {
            let schema = body.get("schema").map(type_of).unwrap_or_default();
            format!("<code>{}</code> {schema}", escape(media))
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn render_operation(path: &str, method: &str, operation: &Value) -> String {
    let id = anchor(&format!("op-{method}-{path}"));
    let mut html = format!(
        "<section class=\"operation\" id=\"{id}\"><h3><span class=\"method {method}\">{}</span> \
         <code class=\"path\">{}</code></h3>",
        method.to_uppercase(),
        escape(path)
    );
    html.push_str(&prose(str_of(operation, "summary")));
    html.push_str(&prose(str_of(operation, "description")));
    if operation.get("security").is_some() {
        html.push_str(
            "<p class=\"auth\">Requires an access token (see <a href=\"#authentication\">\
             Authentication</a>).</p>",
        );
    }
    if let Some(body) = operation.get("requestBody") {
        html.push_str(&format!(
            "<p><strong>Request body</strong>: {}</p>",
            bodies(body.get("content").and_then(Value::as_object))
        ));
    }
    html.push_str(
        "<table><thead><tr><th>status</th><th>meaning and <code>code</code></th>\
         <th>body</th></tr></thead><tbody>",
    );
    if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
        for (status, response) in responses {
            html.push_str(&format!(
                "<tr><td class=\"status\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(status),
                prose(str_of(response, "description")),
                bodies(response.get("content").and_then(Value::as_object)),
            ));
        }
    }
    html.push_str("</tbody></table></section>");
    html
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:70rem;\
padding:1rem 2rem;color:#1d1d1f}h1{margin-bottom:0}code{font:13px ui-monospace,monospace;\
background:#f2f2f4;padding:0 .25em;border-radius:3px}table{border-collapse:collapse;width:100%;\
margin:.5rem 0 1rem}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;\
vertical-align:top}th{background:#f7f7f9}td p{margin:0}.operation,.schema{border-top:1px solid \
#ccc;padding-top:.5rem}.method{display:inline-block;min-width:4.5em;padding:0 .4em;\
border-radius:3px;color:#fff;background:#555;font-size:13px;text-align:center}.get{background:\
#2f6fb3}.post{background:#2e8540}.delete{background:#b33}.patch,.put{background:#a65e00}\
.fmt{color:#666}.status{font-weight:bold}.auth{color:#7a4b00}nav ul{columns:2}";

/// The whole reference page.
pub fn render_html(doc: &Value) -> String {
    let info = &doc["info"];
    let title = str_of(info, "title");
    let mut toc = String::new();
    let mut operations = String::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                let Some(operation) = item.get(*method) else {
                    continue;
                };
                let id = anchor(&format!("op-{method}-{path}"));
                toc.push_str(&format!(
                    "<li><a href=\"#{id}\"><code>{} {}</code></a> {}</li>",
                    method.to_uppercase(),
                    escape(path),
                    inline(str_of(operation, "summary"))
                ));
                operations.push_str(&render_operation(path, method, operation));
            }
        }
    }
    let mut schemas = String::new();
    if let Some(all) = doc["components"]["schemas"].as_object() {
        for (name, schema) in all {
            schemas.push_str(&render_schema(name, schema));
        }
    }
    let mut authentication = String::new();
    if let Some(all) = doc["components"]["securitySchemes"].as_object() {
        for scheme in all.values() {
            let how = match str_of(scheme, "type") {
                "http" => format!(
                    "<code>Authorization: {} &lt;access token&gt;</code>",
                    escape(&capitalise(str_of(scheme, "scheme")))
                ),
                _ => format!("header <code>{}</code>", escape(str_of(scheme, "name"))),
            };
            authentication.push_str(&format!(
                "<p>{how}. {}</p>",
                prose(str_of(scheme, "description"))
            ));
        }
    }
    let servers = doc
        .get("servers")
        .and_then(Value::as_array)
        .map(|servers| {
            let urls: Vec<String> = servers
                .iter()
                .map(|s| format!("<code>{}</code>", escape(str_of(s, "url"))))
                .collect();
            format!("<p>Routes are mounted under {}.</p>", urls.join(", "))
        })
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} API reference</title><style>{STYLE}</style></head><body>\
         <h1>{title} API reference</h1><p>Version {version} · OpenAPI {openapi} · \
         <a href=\"openapi.json\">openapi.json</a></p>{description}{servers}\
         <nav><h2>Routes</h2><ul>{toc}</ul></nav>\
         <h2 id=\"authentication\">Authentication</h2>{authentication}\
         <h2>Operations</h2>{operations}<h2>Schemas</h2>{schemas}</body></html>",
        title = escape(title),
        version = escape(str_of(info, "version")),
        openapi = escape(str_of(doc, "openapi")),
        description = prose(str_of(info, "description")),
    )
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
