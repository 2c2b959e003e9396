//! Renaming stored addresses (`Store::rename_urls`): the parts both backends share. A stored
//! article's address appears in its own row (`url`, `requested_url`), in `seen_urls` and
//! `given_up_urls`, and inside other articles' verdicts: `duplicate_of` (the address itself)
//! and the JSON of `related` and `shares_text_with` (as a JSON string).

use std::collections::HashMap;

/// The `LIKE` pattern (with `!` as its escape) matching a text that contains any of `from`:
/// their longest common prefix, so one scan finds every row a rename may touch.
pub(crate) fn containing_pattern(renames: &[(String, String)]) -> String {
    let mut prefix: &str = renames.first().map(|(from, _)| from.as_str()).unwrap_or("");
    for (from, _) in renames {
        let common = prefix
            .char_indices()
            .zip(from.chars())
            .find(|((_, a), b)| a != b)
            .map(|((i, _), _)| i)
            .unwrap_or(prefix.len().min(from.len()));
        prefix = &prefix[..common];
    }
    let mut pattern = String::from("%");
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One article's references rewritten: `(related, shares_text_with, duplicate_of)`, or `None`
/// when none of them names a renamed address.
pub(crate) fn rewrite_references(
    renames: &HashMap<&str, &str>,
    related: &str,
    shares_text_with: Option<&str>,
    duplicate_of: Option<&str>,
) -> Option<(String, Option<String>, Option<String>)> {
    // An address is a whole JSON string: a `"` inside a string value is escaped, so the
    // quoted form matches string values only.
    let rewrite_json = |json: &str| {
        let mut out = json.to_string();
        for (from, to) in renames {
            let quoted = serde_json::to_string(from).expect("a string serializes");
            if out.contains(&quoted) {
                out = out.replace(
                    &quoted,
                    &serde_json::to_string(to).expect("a string serializes"),
                );
            }
        }
        out
    };
    let new_related = rewrite_json(related);
    let new_shares = shares_text_with.map(rewrite_json);
    let new_duplicate = duplicate_of.map(|d| renames.get(d).map_or(d, |to| to).to_string());
    let changed = new_related != related
        || new_shares.as_deref() != shares_text_with
        || new_duplicate.as_deref() != duplicate_of;
    changed.then_some((new_related, new_shares, new_duplicate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_is_the_common_prefix_escaped() {
        let renames = vec![
            ("file:///a/100%_x/one.txt".to_string(), String::new()),
            ("file:///a/100%_x/two.txt".to_string(), String::new()),
        ];
        assert_eq!(containing_pattern(&renames), "%file:///a/100!%!_x/%");
        assert_eq!(
            containing_pattern(&renames[..1]),
            "%file:///a/100!%!_x/one.txt%"
        );
    }

    #[test]
    fn references_are_rewritten_as_whole_strings() {
        let renames = HashMap::from([("file:///c/a.txt", "dir:/c/a.txt")]);
        let related =
            r#"[{"id":"file:///c/a.txt","score":0.5},{"id":"file:///c/a.txt.bak","score":0.1}]"#;
        let (related, shares, duplicate) = rewrite_references(
            &renames,
            related,
            Some(r#"{"id":"file:///c/a.txt","shared":0.2}"#),
            Some("file:///c/a.txt"),
        )
        .unwrap();
        assert_eq!(
            related,
            r#"[{"id":"dir:/c/a.txt","score":0.5},{"id":"file:///c/a.txt.bak","score":0.1}]"#
        );
        assert_eq!(shares.unwrap(), r#"{"id":"dir:/c/a.txt","shared":0.2}"#);
        assert_eq!(duplicate.unwrap(), "dir:/c/a.txt");
        assert!(rewrite_references(&renames, "[]", None, Some("https://x/")).is_none());
    }
}
