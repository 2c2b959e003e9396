//! Parsing HTML within the page's limits. html5ever's tree builder checks element scope by
//! walking the stack of open elements, so each tag costs time in proportion to the nesting
//! depth, and a page of nothing but nested `<div>`s costs time in proportion to its square
//! (100,000 of them took 38 s before the depth check after parsing could reject the page).
//! Here the document is fed to the parser a few kilobytes at a time through a sink that
//! records how deep each element sits; past `max_depth`, or past `max_millis`, parsing stops
//! and the page is refused, so neither limit waits for the whole document.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use ego_tree::NodeId;
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName};
use scraper::{Html, HtmlTreeSink};

use crate::{CleanError, Limits};

/// Bytes fed to the parser between two checks of the limits.
const CHUNK_BYTES: usize = 4096;

/// Parses `html` as a document, refusing it once it nests deeper than `limits.max_depth` or
/// parsing has run past `limits.max_millis` since `started`.
pub fn parse_document(html: &str, limits: &Limits, started: Instant) -> Result<Html, CleanError> {
    let deepest = Rc::new(Cell::new(0usize));
    let sink = DepthSink {
        inner: HtmlTreeSink::new(Html::new_document()),
        depths: RefCell::new(HashMap::new()),
        deepest: deepest.clone(),
    };
    let mut parser = html5ever::driver::parse_document(sink, Default::default());
    let mut rest = html;
    while !rest.is_empty() {
        let mut end = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (chunk, tail) = rest.split_at(end);
        parser.process(StrTendril::from_slice(chunk));
        rest = tail;
        if deepest.get() > limits.max_depth {
            return Err(CleanError::TooDeep {
                max_depth: limits.max_depth,
            });
        }
        if started.elapsed() > limits.max_time() {
            return Err(CleanError::TooSlow {
                max_millis: limits.max_millis,
            });
        }
    }
    Ok(parser.finish())
}

/// scraper's sink, and the depth of every element appended, to know how deep the document
/// has grown while it is parsed. (Depths of nodes the tree builder moves later, as when it
/// mends misnested formatting tags, are not updated: the walk after parsing checks depth
/// exactly; this only has to catch runaway nesting early.)
struct DepthSink {
    inner: HtmlTreeSink,
    depths: RefCell<HashMap<NodeId, usize>>,
    deepest: Rc<Cell<usize>>,
}

impl DepthSink {
    fn place(&self, child: &NodeOrText<NodeId>, depth: usize) {
        if let NodeOrText::AppendNode(id) = child {
            self.depths.borrow_mut().insert(*id, depth);
            self.deepest.set(self.deepest.get().max(depth));
        }
    }

    fn depth(&self, node: &NodeId) -> usize {
        self.depths.borrow().get(node).copied().unwrap_or(0)
    }
}

impl TreeSink for DepthSink {
    type Handle = NodeId;
    type Output = Html;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg);
    }

    fn get_document(&self) -> NodeId {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        self.inner.elem_name(target)
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> NodeId {
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> NodeId {
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> NodeId {
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        self.place(&child, self.depth(parent) + 1);
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        let depth = self.depth(element).max(self.depth(prev_element) + 1);
        self.place(&child, depth);
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &NodeId) {
        self.inner.mark_script_already_started(node);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        self.place(&new_node, self.depth(sibling));
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &NodeId, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        self.inner.reparent_children(node, new_parent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_depth: 512,
            ..Limits::default()
        }
    }

    #[test]
    fn runaway_nesting_is_refused_while_parsing() {
        // 100,000 nested <div>s took 38 s to parse before the depth check could run; 1M
        // unclosed <b>s took 161 MB. Refused at the depth limit, they cost a few chunks.
        for tag in ["div", "b", "span"] {
            let html = format!("<html><body>{}text", format!("<{tag}>").repeat(100_000));
            let started = Instant::now();
            let err = parse_document(&html, &limits(), started).unwrap_err();
            assert_eq!(err, CleanError::TooDeep { max_depth: 512 }, "{tag}");
        }
    }

    #[test]
    fn pages_within_the_limits_parse_as_scraper_parses_them() {
        let page = format!(
            "<!doctype html><html><head><title>T</title></head><body>{}<p>Курилы, 北方領土 {}</p>\
             <table><tr><td>cell<b><i>mis</b>nested</i></table></body></html>",
            "<div>".repeat(100),
            "text ".repeat(3000)
        );
        let ours = parse_document(&page, &limits(), Instant::now()).unwrap();
        assert_eq!(ours.html(), Html::parse_document(&page).html());
    }
}
