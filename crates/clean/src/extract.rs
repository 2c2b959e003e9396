//! Main-content extraction from a parsed HTML document.
//!
//! One walk over the DOM splits the page into text blocks (paragraphs, headings, list items,
//! text directly inside a `div`), skipping elements that never hold article text (scripts,
//! navigation, forms, figures, hidden elements). Each substantial block then votes for the
//! containers above it, weighted by its length and punctuation, the way a reader's eye finds
//! the column of running prose; links count against a block. The best container and its
//! strong siblings give the article's blocks.
//!
//! Class and id names that mark boilerplate (`comments`, `share`, `related`, `byline`, …)
//! apply below the chosen container, not above it: a block's vote stops at such an element,
//! the winner is preferably a container outside all of them, and blocks with one between
//! them and the winner are dropped. So a page wrapped in `<div class="has-sidebar">` keeps its
//! article, and a comment box inside `<article>` still goes.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Instant;

use ego_tree::{NodeId, NodeRef};
use regex::Regex;
use scraper::{Html, Node};

use crate::{CleanError, Limits};

/// Tags whose content is never article text.
const SKIPPED_TAGS: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "nav",
    "header",
    "footer",
    "aside",
    "button",
    "select",
    "textarea",
    "input",
    "label",
    "figure",
    "figcaption",
    "picture",
    "video",
    "audio",
    "dialog",
    "menu",
    "head",
    "title",
];

/// Tags that start a new block of text.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "table",
    "tbody",
    "thead",
    "tr",
    "td",
    "th",
    "dd",
    "dt",
    "dl",
    "address",
    "hr",
    "center",
    "body",
];

/// Class or id words of boilerplate containers (after Readability's "unlikely candidates").
static BOILERPLATE_HINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)comment|share|sharing|social|related|recommend|promo|cookie|consent|newsletter|subscri|signup|advert|\bads?\b|banner|breadcrumb|\bnav|menu|footer|sidebar|widget|caption|credit|byline|popular|most-read|trending|outbrain|taboola|sponsor|modal|popup|teaser|masthead|toolbar|pagination|disqus|rating|prompt|upsell|regwall",
    )
    .expect("valid regex")
});

/// Whole-line interface labels, in English, Russian, Japanese and a few other languages
/// news sites use.
static UI_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(advert(isement)?|anzeige|publicidad|sponsored( content)?|tags?|topics?|categor(y|ies|ias|ie)|comments?|comentários|like this|share( this( article)?)?|explore further|don'?t miss|subscribe|related( articles| stories)?|read more|see also|more|next|previous|\d+ (of|/) \d+|реклама|теги|комментарии|читайте также|広告|関連記事|コメント|シェア)\s*[:：]?$",
    )
    .expect("valid regex")
});

/// A time of day alone (`12:40`, `9.15 pm`).
static TIME_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?$").expect("valid regex")
});

/// Calls to action that close (or open) an article: newsletters, sign-ups, tips to the
/// author, apps; in English, Russian and Japanese.
static CALL_TO_ACTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bsubscribe\b|\bsign up\b|newsletter|unlimited access|cancel anytime|already a subscriber|(keep|continue) reading|log in to (read|continue)|\bfollow (us|me|him|her)\b|download (our|the) app|may be reached at|\S+@\S+\.\w+|подпис(ыв)?айтесь|рассылк|メルマガ|ニュースレター|フォローして",
    )
    .expect("valid regex")
});

/// Class or id words that rescue a container from the boilerplate test.
static CONTENT_HINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)article|content|story|body|post|entry|text|main|column|news-detail")
        .expect("valid regex")
});

/// One run of text between block boundaries.
#[derive(Debug)]
struct Block {
    text: String,
    /// Characters of `text`.
    chars: usize,
    /// Characters of `text` inside links.
    link_chars: usize,
    /// Tag of the innermost block element holding the text.
    tag: String,
    /// Block-element ancestors, innermost first (the holding element itself comes first).
    chain: Vec<NodeId>,
    /// Index in `chain` of the innermost element marked as boilerplate by its class or id.
    hinted: Option<usize>,
}

impl Block {
    fn chars(&self) -> usize {
        self.chars
    }

    fn link_density(&self) -> f32 {
        self.link_chars as f32 / self.chars().max(1) as f32
    }

    /// A short line that does not end a sentence (a label, not prose), or a call to action
    /// (subscribe, sign up, write to the author).
    fn is_weak(&self) -> bool {
        let label = self.chars() < 40
            && !self
                .text
                .ends_with(['.', '!', '?', '。', '！', '？', '"', '”', '»', ':']);
        label || (self.chars() < 300 && CALL_TO_ACTION.is_match(&self.text))
    }

    /// A short line that is only a date or a time (a dateline, a live-blog timestamp).
    fn is_dateline(&self) -> bool {
        // Every date form the cleaner reads has a digit: test that first, it is cheap.
        self.chars < 40
            && self
                .text
                .contains(|c: char| c.is_ascii_digit() || ('０'..='９').contains(&c))
            && (TIME_ONLY.is_match(&self.text)
                || (self.text.split_whitespace().count() <= 6
                    && crate::human_dates::find_date(&self.text).is_some()))
    }

    fn is_heading(&self) -> bool {
        matches!(self.tag.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
    }
}

/// The main content found in a document.
#[derive(Debug, Default)]
pub struct MainContent {
    /// Paragraphs in document order.
    pub paragraphs: Vec<String>,
    /// Absolute or relative `href`s of links inside the chosen content.
    pub links: Vec<String>,
    /// Date or time lines found in the content and left out of the paragraphs.
    pub datelines: Vec<String>,
}

/// Finds the article's text blocks in `html`.
pub fn main_content(
    html: &Html,
    limits: &Limits,
    started: Instant,
) -> Result<MainContent, CleanError> {
    let mut walker = Walker {
        blocks: Vec::new(),
        buf: String::new(),
        link_chars: 0,
        stack: Vec::new(),
        links: Vec::new(),
        limits,
        started,
        visited: 0,
        articles: std::collections::HashSet::new(),
        token_kinds: TokenKinds::new(),
    };
    walker.visit(html.tree.root(), false, 0)?;
    walker.flush();
    let Walker {
        blocks,
        links,
        articles,
        ..
    } = walker;
    let Choice { mut chosen, parent } = choose_containers(&blocks);
    if let Some(article) = titled_article(&blocks, &articles, &chosen) {
        chosen = vec![article];
    }
    // Where a chain reaches a chosen container, unless boilerplate lies in between.
    let admitted = |chain: &[NodeId], hinted: Option<usize>| {
        chain
            .iter()
            .position(|id| chosen.contains(id))
            .is_some_and(|at| hinted.is_none_or(|h| h >= at))
    };
    // A paragraph standing directly beside the chosen container (the first paragraphs of an
    // article whose rest sits in a `div.paywall`) belongs to the article when it is solid
    // prose with few links.
    let beside = |block: &Block| {
        parent.is_some()
            && block.chain.get(1) == parent.as_ref()
            && block.hinted.is_none()
            && block.chars() >= 80
            && block.text.split_whitespace().count() >= 8
            && block.link_density() < 0.25
            && !block.is_heading()
    };
    let mut content = MainContent::default();
    let mut kept: Vec<&Block> = blocks
        .iter()
        .filter(|block| {
            (admitted(&block.chain, block.hinted) || beside(block)) && block.chars() > 0
        })
        // A date or time on a line of its own is a dateline: metadata, not body.
        .filter(|block| {
            if block.is_dateline() {
                content.datelines.push(block.text.clone());
                return false;
            }
            true
        })
        // Interface labels ("Advert", "Tags", "Comments", "1 of 6") are not prose.
        .filter(|block| block.chars >= 40 || !UI_LABEL.is_match(block.text.trim()))
        // A bare address on a line of its own is a share or print artefact.
        .filter(|block| !block.text.starts_with("http") || block.text.contains(char::is_whitespace))
        // Mostly-link blocks are navigation or teasers; headings stay (subheads and product
        // names are often links).
        .filter(|block| block.is_heading() || block.link_density() <= 0.5)
        .collect();
    // Labels left at the edges of the content ("Tags", "Advert", "Comments", a date line)
    // are not the article's.
    // A longer run of short lines is a list, and kept.
    const MAX_EDGE_LABELS: usize = 3;
    let leading = kept.iter().take_while(|b| b.is_weak()).count();
    if leading <= MAX_EDGE_LABELS {
        kept.drain(..leading);
    }
    let trailing = kept
        .iter()
        .rev()
        .take_while(|b| b.is_weak() || b.is_heading())
        .count();
    if trailing <= MAX_EDGE_LABELS {
        kept.truncate(kept.len() - trailing);
    }
    content.paragraphs = kept.iter().map(|b| b.text.clone()).collect();
    content.links = links
        .into_iter()
        .filter(|link| admitted(&link.chain, link.hinted))
        .map(|link| link.href)
        .collect();
    Ok(content)
}

/// Length of text in characters, a CJK character counting as three (it carries about as much
/// as a short word).
pub fn text_weight<S: AsRef<str>>(paragraphs: &[S]) -> usize {
    paragraphs
        .iter()
        .flat_map(|p| p.as_ref().chars())
        .map(|c| if (c as u32) >= 0x3000 { 3 } else { 1 })
        .sum()
}

/// Scores containers by the prose below them and returns the best one and its strong siblings.
/// When the chosen containers hold several `<article>` elements (or are such elements) and
/// exactly one of them holds the page's `<h1>`, that one: the others are separate
/// compositions (related posts, comments), as HTML5 defines them.
fn titled_article(
    blocks: &[Block],
    articles: &std::collections::HashSet<NodeId>,
    chosen: &[NodeId],
) -> Option<NodeId> {
    let mut found: Vec<NodeId> = Vec::new();
    let mut titled: Vec<NodeId> = Vec::new();
    for block in blocks {
        let Some(at) = block.chain.iter().position(|id| chosen.contains(id)) else {
            continue;
        };
        // The outermost article from the block up to (and including) the chosen container.
        let Some(article) = block.chain[..=at]
            .iter()
            .rev()
            .find(|id| articles.contains(id))
        else {
            continue;
        };
        if !found.contains(article) {
            found.push(*article);
        }
        if block.tag == "h1" && !titled.contains(article) {
            titled.push(*article);
        }
    }
    match titled.as_slice() {
        [article] if found.len() >= 2 => Some(*article),
        _ => None,
    }
}

/// The containers chosen for the article, and the parent of the best one.
struct Choice {
    chosen: Vec<NodeId>,
    parent: Option<NodeId>,
}

fn choose_containers(blocks: &[Block]) -> Choice {
    let mut scores: HashMap<NodeId, f32> = HashMap::new();
    let mut parent_of: HashMap<NodeId, NodeId> = HashMap::new();
    // Containers that lie inside an element marked as boilerplate.
    let mut inside_hinted: std::collections::HashSet<NodeId> = std::collections::HashSet::new();
    // Per container: characters of prose below it (not behind boilerplate), and of all text
    // and linked text below it.
    let mut prose: HashMap<NodeId, usize> = HashMap::new();
    let mut text: HashMap<NodeId, (usize, usize)> = HashMap::new();
    for block in blocks {
        if let Some(h) = block.hinted {
            inside_hinted.extend(&block.chain[..h]);
        }
        for pair in block.chain.windows(2) {
            parent_of.insert(pair[0], pair[1]);
        }
        let chars = block.chars();
        let is_prose = chars >= 25 && block.link_density() <= 0.33 && !block.is_heading();
        for (level, id) in block.chain.iter().enumerate() {
            let all = text.entry(*id).or_default();
            all.0 += chars;
            all.1 += block.link_chars;
            if is_prose && block.hinted.is_none_or(|h| h >= level) {
                *prose.entry(*id).or_default() += chars;
            }
        }
        if !is_prose {
            continue;
        }
        let commas = block
            .text
            .chars()
            .filter(|c| matches!(c, ',' | '、' | '，' | '。' | ';'))
            .count();
        let score = 1.0 + commas.min(10) as f32 + (chars as f32 / 100.0).min(3.0);
        // The holding element itself, then its parent and grandparent with falling weight.
        for (level, id) in block.chain.iter().take(4).enumerate() {
            if block.hinted.is_some_and(|h| level >= h) {
                break; // the vote stops at boilerplate
            }
            let weight = match level {
                0 => 0.5,
                1 => 1.0,
                2 => 0.5,
                _ => 0.33,
            };
            *scores.entry(*id).or_default() += score * weight;
        }
    }
    let best_of = |outside_only: bool| {
        scores
            .iter()
            .filter(|(id, _)| !outside_only || !inside_hinted.contains(id))
            .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(id, score)| (*id, *score))
    };
    // A container outside every boilerplate-marked element is preferred, unless one inside
    // is clearly stronger (a page whose whole layout sits in `<form>` or `has-sidebar`).
    let preferred = match (best_of(true), best_of(false)) {
        (Some(outside), Some(any)) if outside.1 >= any.1 * 0.5 => Some(outside),
        (_, any) => any,
    };
    let Some((best, best_score)) = preferred else {
        // No prose at all: keep every block under <body> (the caller judges the result).
        return Choice {
            chosen: blocks
                .iter()
                .filter_map(|b| b.chain.last().copied())
                .collect(),
            parent: None,
        };
    };
    // Climb to the nearest ancestor (looking up to six levels, past wrappers that add
    // nothing) that holds much more prose at a low link density, while there is one: an
    // article split into sections or page-builder widgets is one article.
    const CLIMB_LEVELS: usize = 6;
    let mut best = best;
    'climb: loop {
        let here = prose.get(&best).copied().unwrap_or(0);
        let mut ancestor = best;
        for _ in 0..CLIMB_LEVELS {
            let Some(&parent) = parent_of.get(&ancestor) else {
                break 'climb;
            };
            // Never the root (<html>): it holds everything.
            if !parent_of.contains_key(&parent) {
                break 'climb;
            }
            let (chars, links) = text.get(&parent).copied().unwrap_or_default();
            let grows = prose.get(&parent).copied().unwrap_or(0) * 2 >= here * 3;
            if grows && links * 3 <= chars {
                best = parent;
                continue 'climb;
            }
            ancestor = parent;
        }
        break;
    }
    let best_score = scores.get(&best).copied().unwrap_or(best_score);
    let mut chosen = vec![best];
    if let Some(parent) = parent_of.get(&best) {
        let threshold = (best_score * 0.25).max(8.0);
        chosen.extend(
            scores
                .iter()
                .filter(|(id, score)| {
                    **id != best && parent_of.get(id) == Some(parent) && **score >= threshold
                })
                .map(|(id, _)| *id),
        );
    }
    Choice {
        chosen,
        parent: parent_of.get(&best).copied(),
    }
}

/// An open block element.
struct Open {
    id: NodeId,
    tag: String,
    /// Whether its class or id marks it as boilerplate.
    hinted: bool,
}

/// A link and the block chain it was found under.
struct Link {
    href: String,
    chain: Vec<NodeId>,
    hinted: Option<usize>,
}

struct Walker<'a> {
    blocks: Vec<Block>,
    buf: String,
    link_chars: usize,
    /// Open block elements, outermost first.
    stack: Vec<Open>,
    /// Links seen, with where they were found.
    links: Vec<Link>,
    limits: &'a Limits,
    started: Instant,
    visited: usize,
    /// The `<article>` elements met.
    articles: std::collections::HashSet<NodeId>,
    /// What each class/id token says, judged once per page.
    token_kinds: TokenKinds,
}

impl Walker<'_> {
    fn visit(
        &mut self,
        node: NodeRef<'_, Node>,
        in_link: bool,
        depth: usize,
    ) -> Result<(), CleanError> {
        if depth > self.limits.max_depth {
            return Err(CleanError::TooDeep {
                max_depth: self.limits.max_depth,
            });
        }
        self.visited += 1;
        if self.visited.is_multiple_of(4096) && self.started.elapsed() > self.limits.max_time() {
            return Err(CleanError::TooSlow {
                max_millis: self.limits.max_millis,
            });
        }
        match node.value() {
            Node::Text(text) => self.push_text(text, in_link),
            Node::Element(element) => {
                let name = element.name();
                if SKIPPED_TAGS.contains(&name) || is_hidden(element) {
                    return Ok(());
                }
                if name == "br" {
                    self.flush();
                    return Ok(());
                }
                let hinted = is_boilerplate(element, &mut self.token_kinds);
                // Inline elements marked as boilerplate (a byline <span>) open a block too, so
                // their text can be told apart.
                let is_block = BLOCK_TAGS.contains(&name) || hinted;
                if name == "article" {
                    self.articles.insert(node.id());
                }
                if is_block {
                    self.flush();
                    self.stack.push(Open {
                        id: node.id(),
                        tag: name.to_string(),
                        hinted,
                    });
                }
                if name == "a"
                    && let Some(href) = element.attr("href")
                {
                    let (chain, hinted) = self.chain();
                    self.links.push(Link {
                        href: href.to_string(),
                        chain,
                        hinted,
                    });
                }
                // Inline images and line-level separators become spaces.
                if matches!(name, "img" | "td" | "th") {
                    self.buf.push(' ');
                }
                for child in node.children() {
                    self.visit(child, in_link || name == "a", depth + 1)?;
                }
                if is_block {
                    self.flush();
                    self.stack.pop();
                }
            }
            Node::Document => {
                for child in node.children() {
                    self.visit(child, in_link, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn push_text(&mut self, text: &str, in_link: bool) {
        let mut added = 0;
        let mut last_space = self.buf.is_empty() || self.buf.ends_with(' ');
        for c in text.chars() {
            if c.is_whitespace() {
                if !last_space {
                    self.buf.push(' ');
                    last_space = true;
                    added += 1;
                }
            } else {
                self.buf.push(c);
                last_space = false;
                added += 1;
            }
        }
        if in_link {
            self.link_chars += added;
        }
    }

    /// The open block elements, innermost first, and the index of the innermost hinted one.
    fn chain(&self) -> (Vec<NodeId>, Option<usize>) {
        let chain = self.stack.iter().rev().map(|open| open.id).collect();
        let hinted = self.stack.iter().rev().position(|open| open.hinted);
        (chain, hinted)
    }

    fn flush(&mut self) {
        let text = self.buf.trim();
        if !text.is_empty()
            && let Some(open) = self.stack.last()
        {
            let tag = open.tag.clone();
            let text = text.to_string();
            let (chain, hinted) = self.chain();
            let chars = text.chars().count();
            self.blocks.push(Block {
                link_chars: self.link_chars.min(chars),
                chars,
                text,
                tag,
                chain,
                hinted,
            });
        }
        self.buf.clear();
        self.link_chars = 0;
    }
}

/// Class names that hide an element on every screen (not `hidden-xs`, which hides it on
/// small screens only).
const HIDING_CLASSES: &[&str] = &[
    "hidden",
    "hide",
    "is-hidden",
    "d-none",
    "invisible",
    "visually-hidden",
    "sr-only",
    "screen-reader-text",
    "element-hidden",
    "u-hidden",
    "visuallyhidden",
];

fn is_hidden(element: &scraper::node::Element) -> bool {
    element.attr("class").is_some_and(|c| {
        c.split_whitespace()
            .any(|t| HIDING_CLASSES.contains(&t.to_ascii_lowercase().as_str()))
    }) || element.attr("hidden").is_some()
        || element.attr("aria-hidden") == Some("true")
        || element.attr("style").is_some_and(|style| {
            let style: String = style.chars().filter(|c| !c.is_whitespace()).collect();
            let style = style.to_ascii_lowercase();
            style.contains("display:none") || style.contains("visibility:hidden")
        })
}

/// Per class/id token: (marks boilerplate, marks content). Tokens repeat across a page, so
/// each is judged once.
type TokenKinds = HashMap<String, (bool, bool)>;

fn is_boilerplate(element: &scraper::node::Element, token_kinds: &mut TokenKinds) -> bool {
    // Forms hold search boxes and sign-ups, but some sites wrap the whole page in one.
    if element.name() == "form" {
        return true;
    }
    if matches!(element.name(), "html" | "body" | "article" | "main") {
        return false;
    }
    if element.attr("itemprop") == Some("articleBody") {
        return false;
    }
    // Tokens of class, id and role: `related-articles` is boilerplate (a boilerplate word
    // qualifies the content word), while `article-body has-sidebar` is rescued by a token that
    // is a content word alone.
    let mut marked = false;
    let mut rescued = false;
    for token in ["class", "id", "role"]
        .iter()
        .filter_map(|attr| element.attr(attr))
        .flat_map(str::split_whitespace)
    {
        let (boilerplate, content) = match token_kinds.get(token) {
            Some(kinds) => *kinds,
            None => {
                // An embedded post (`social-media-embed`) is quoted by the article: content.
                let boilerplate = BOILERPLATE_HINT.is_match(token)
                    && !token.to_ascii_lowercase().contains("embed");
                let content = CONTENT_HINT.is_match(token) && !BOILERPLATE_HINT.is_match(token);
                token_kinds.insert(token.to_string(), (boilerplate, content));
                (boilerplate, content)
            }
        };
        marked |= boilerplate;
        rescued |= content;
    }
    marked && !rescued
}
