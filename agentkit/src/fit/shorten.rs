//! Shortening one field's value as its policy says, to a share of its
//! length, with a visible marker where something was cut.

use serde_json::Value;

use super::Keep;

/// `value` cut to about `share` (0 to 1) of its length, keeping what `keep`
/// says. Text loses characters, at a word boundary where one is near, and
/// says how many with a marker (`[… 1200 characters cut …]`); a list loses
/// whole items, counted by their length, and a list of text says how many
/// with a marker item. A value that is neither text nor a list, or that
/// keeps everything, is returned as it is.
pub(crate) fn shorten(value: &Value, keep: Keep, share: f64) -> Value {
    let share = share.clamp(0.0, 1.0);
    match value {
        Value::String(text) => Value::String(shorten_text(text, keep, share)),
        Value::Array(items) => Value::Array(shorten_list(items, keep, share)),
        other => other.clone(),
    }
}

/// The text put where characters were cut.
pub(crate) fn text_marker(cut: usize) -> String {
    format!("[… {cut} characters cut …]")
}

/// The item put where a list of text lost items.
pub(crate) fn list_marker(cut: usize) -> String {
    let items = if cut == 1 { "item" } else { "items" };
    format!("[… {cut} {items} cut …]")
}

fn shorten_text(text: &str, keep: Keep, share: f64) -> String {
    let chars: Vec<char> = text.chars().collect();
    let target = (chars.len() as f64 * share).floor() as usize;
    if target >= chars.len() {
        return text.to_string();
    }
    let (head, tail) = match keep {
        Keep::Head => (word_end(&chars, target), chars.len()),
        Keep::Tail => (0, word_start(&chars, chars.len() - target)),
        Keep::Ends => {
            let head = word_end(&chars, target / 2);
            let tail = word_start(&chars, chars.len() - (target - target / 2));
            (head, tail.max(head))
        }
    };
    let marker = text_marker(tail - head);
    let kept_head = collect(&chars[..head]);
    let kept_tail = collect(&chars[tail..]);
    [
        kept_head.trim_end(),
        marker.as_str(),
        kept_tail.trim_start(),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

/// How far back from `at` a cut looks for a space.
const WORD_REACH: usize = 16;

/// A cut at `at` moved back to the space before it, when one is near.
fn word_end(chars: &[char], at: usize) -> usize {
    (at.saturating_sub(WORD_REACH)..=at)
        .rev()
        .find(|&i| i == 0 || chars.get(i).is_some_and(|c| c.is_whitespace()))
        .unwrap_or(at)
}

/// A cut at `at` moved forward to the space after it, when one is near.
fn word_start(chars: &[char], at: usize) -> usize {
    (at..=(at + WORD_REACH).min(chars.len()))
        .find(|&i| i == chars.len() || chars[i].is_whitespace())
        .unwrap_or(at)
}

fn collect(chars: &[char]) -> String {
    chars.iter().collect()
}

fn shorten_list(items: &[Value], keep: Keep, share: f64) -> Vec<Value> {
    let sizes: Vec<usize> = items.iter().map(|v| v.to_string().len()).collect();
    let total: usize = sizes.iter().sum();
    let budget = (total as f64 * share).floor() as usize;
    if budget >= total {
        return items.to_vec();
    }
    // Which items stay, taken from the kept end(s) while they fit the budget.
    let mut kept = vec![false; items.len()];
    let mut used = 0;
    let order: Vec<usize> = match keep {
        Keep::Head => (0..items.len()).collect(),
        Keep::Tail => (0..items.len()).rev().collect(),
        Keep::Ends => {
            let (mut front, mut back) = (0, items.len());
            let mut order = Vec::new();
            while front < back {
                order.push(front);
                front += 1;
                if front < back {
                    back -= 1;
                    order.push(back);
                }
            }
            order
        }
    };
    for i in order {
        if used + sizes[i] > budget {
            break;
        }
        used += sizes[i];
        kept[i] = true;
    }
    let cut = kept.iter().filter(|k| !**k).count();
    let marked = items.iter().all(Value::is_string);
    let mut out = Vec::new();
    let mut marker_placed = false;
    for (item, keep_it) in items.iter().zip(&kept) {
        if *keep_it {
            out.push(item.clone());
        } else if marked && !marker_placed {
            out.push(Value::String(list_marker(cut)));
            marker_placed = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_keeps_the_side_its_policy_names_and_says_what_was_cut() {
        let text = Value::String("one two three four five six seven eight nine ten".into());
        let head = shorten(&text, Keep::Head, 0.5);
        let head = head.as_str().unwrap();
        assert!(head.starts_with("one two three"), "{head}");
        assert!(head.ends_with("characters cut …]"), "{head}");
        assert!(!head.contains("ten"));
        let tail = shorten(&text, Keep::Tail, 0.5);
        let tail = tail.as_str().unwrap();
        assert!(
            tail.starts_with("[… ") && tail.ends_with("nine ten"),
            "{tail}"
        );
        assert!(!tail.contains("one"));
        let ends = shorten(&text, Keep::Ends, 0.5);
        let ends = ends.as_str().unwrap();
        assert!(ends.starts_with("one") && ends.ends_with("ten"), "{ends}");
        assert!(ends.contains("characters cut"));
        assert!(!ends.contains("five six"));
    }

    #[test]
    fn nothing_is_cut_at_a_share_of_one_and_everything_at_zero() {
        let text = json!("a short text");
        assert_eq!(shorten(&text, Keep::Head, 1.0), text);
        assert_eq!(
            shorten(&text, Keep::Head, 0.0),
            json!("[… 12 characters cut …]")
        );
        let list = json!(["a", "b"]);
        assert_eq!(
            shorten(&list, Keep::Ends, 0.0),
            json!(["[… 2 items cut …]"])
        );
        assert_eq!(shorten(&json!(7), Keep::Head, 0.0), json!(7));
    }

    #[test]
    fn lists_drop_whole_items_from_the_end_the_start_or_the_middle() {
        let list = json!(["first", "second", "third", "fourth", "fifth", "sixth"]);
        assert_eq!(
            shorten(&list, Keep::Head, 0.5),
            json!(["first", "second", "third", "[… 3 items cut …]"])
        );
        assert_eq!(
            shorten(&list, Keep::Tail, 0.5),
            json!(["[… 3 items cut …]", "fourth", "fifth", "sixth"])
        );
        assert_eq!(
            shorten(&list, Keep::Ends, 0.5),
            json!(["first", "second", "[… 3 items cut …]", "sixth"])
        );
        // Items that are not text are dropped without a marker.
        let numbers = json!([1, 2, 3, 4]);
        assert_eq!(shorten(&numbers, Keep::Tail, 0.5), json!([3, 4]));
    }
}
