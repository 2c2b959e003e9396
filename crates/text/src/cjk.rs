//! Runs of Japanese (or Chinese) characters, which have no spaces between words: overlapping
//! character bigrams, a lone character a unigram.

use crate::{Token, normal_form};

/// Whether `c` is a Japanese kana or a CJK ideograph.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // hiragana, katakana
        | '\u{3400}'..='\u{4dbf}' // CJK extension A
        | '\u{4e00}'..='\u{9fff}' // CJK unified ideographs
        | '\u{f900}'..='\u{faff}' // compatibility ideographs
        | '\u{ff66}'..='\u{ff9f}' // half-width katakana
        | '々')
}

/// Adds the bigrams of the CJK run `text[start..end]`, if there is one.
pub(crate) fn flush_cjk<'a>(
    text: &'a str,
    start: Option<usize>,
    end: usize,
    tokens: &mut Vec<Token<'a>>,
) {
    let Some(start) = start else {
        return;
    };
    let run = &text[start..end];
    let bounds: Vec<usize> = run
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(run.len()))
        .collect();
    let pieces: Vec<&str> = if bounds.len() == 2 {
        vec![run]
    } else {
        bounds.windows(3).map(|w| &run[w[0]..w[2]]).collect()
    };
    for raw in pieces {
        tokens.push(Token {
            norm: normal_form(raw, str::to_string),
            raw,
            cjk: true,
        });
    }
}
