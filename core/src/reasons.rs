//! Failure reasons as people and alerts see them.
//!
//! - [`normalise_reason`]: the cause a reason belongs to. What varies from one message to the
//!   next is taken out: ids, amounts, times and e-mail addresses become `<id>`, `<n>`, `<time>`,
//!   `<email>`, so "payment pay-000036 was declined: card declined" and "payment pay-000111 was
//!   declined: card declined" are one cause. HTTP status codes stay: a 503 is another incident
//!   than a 400. The console groups by it; the DLQ handler counts alerts per cause with it.
//! - [`redact`]: the reason with what identifies a backer taken out (e-mail addresses, card
//!   tokens, card numbers), before it goes into `lastError`, a log line or an alert.

/// The reason's words, each passed through `replace` (which sees the word without surrounding
/// quotes and punctuation, and the previous such word in lower case); `None` keeps a word.
fn map_words(text: &str, mut replace: impl FnMut(&str, &str) -> Option<&'static str>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut previous = String::new();
    for token in text.split_whitespace() {
        let lead = token.len() - token.trim_start_matches(is_edge).len();
        let core = token.trim_matches(is_edge);
        let tail = &token[lead + core.len()..];
        let replaced = replace(core, &previous);
        previous = core.to_ascii_lowercase();
        out.push(format!(
            "{}{}{tail}",
            &token[..lead],
            replaced.unwrap_or(core)
        ));
    }
    out.join(" ")
}

/// `text` with its varying parts replaced by placeholders (see the module docs).
pub fn normalise_reason(text: &str) -> String {
    map_words(text, placeholder)
}

fn is_edge(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | ',' | ';' | ':' | '.'
    )
}

/// What a token stands for when it varies between messages; `None` keeps it.
fn placeholder(core: &str, previous: &str) -> Option<&'static str> {
    if core.contains('@') {
        return Some("<email>");
    }
    if !core.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    // Type and version names (`i64`, `v2`) are part of the message, not of the message's data.
    if core.len() <= 3 && core.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let numeric = core
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b',' || b == b'.' || b == b'_');
    let status_word = matches!(previous, "http" | "status" | "code" | "status=" | "code=");
    if numeric && status_word && core.len() == 3 {
        return None;
    }
    let looks_like_time = core.len() >= 10
        && core.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && core.as_bytes()[4] == b'-';
    Some(if looks_like_time {
        "<time>"
    } else if numeric {
        "<n>"
    } else {
        "<id>"
    })
}

/// `text` without e-mail addresses, card tokens (`tok_…`) or card numbers (13 to 19 digits that
/// pass the Luhn check): they become `<email>` and `<card>`.
pub fn redact(text: &str) -> String {
    map_words(text, |word, _| {
        if word.contains('@') {
            Some("<email>")
        } else if word.starts_with("tok_") || is_card_number(word) {
            Some("<card>")
        } else {
            None
        }
    })
}

fn is_card_number(word: &str) -> bool {
    let digits: Vec<u32> = word.chars().filter_map(|c| c.to_digit(10)).collect();
    let only_digits = word.chars().all(|c| c.is_ascii_digit() || c == '-');
    if !only_digits || !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (1, doubled) if doubled > 9 => doubled - 9,
            (1, doubled) => doubled,
            _ => d,
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_what_identifies_a_backer_and_keeps_the_rest() {
        assert_eq!(
            redact("SES throttled sending to \"kim@example.com\": Maximum sending rate exceeded"),
            "SES throttled sending to \"<email>\": Maximum sending rate exceeded"
        );
        assert_eq!(
            redact("card tok_decline of pay-1 declined (4111-1111-1111-1111, 4111111111111111)"),
            "card <card> of pay-1 declined (<card>, <card>)"
        );
        // Amounts, ids, HTTP codes and numbers that are no card numbers stay.
        let kept = "funding API answered HTTP 503 for prj-1 after 1764115200001 ms, amount 50000";
        assert_eq!(redact(kept), kept);
    }
}
