//! The input as the user message shows it: JSON, or labelled lines.

use serde_json::Value;

use crate::InputFormat;

/// Writes an input value the way `format` says.
pub fn render_input(value: &Value, format: InputFormat) -> String {
    match format {
        InputFormat::Json => {
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        }
        InputFormat::Labelled => {
            let mut out = String::new();
            labelled(value, 0, &mut out);
            out.trim_end().to_string()
        }
    }
}

fn label_of(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

fn labelled(value: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{}:\n", label_of(k)));
                        labelled(v, depth + 1, out);
                    }
                    Value::Array(items) if items.is_empty() => {
                        out.push_str(&format!("{pad}{}: (none)\n", label_of(k)));
                    }
                    Value::Array(_) => {
                        out.push_str(&format!("{pad}{}:\n", label_of(k)));
                        labelled(v, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{}: {}\n", label_of(k), scalar(v))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        labelled(item, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}
