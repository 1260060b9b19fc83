//! The syntax tree: statements and `{ … }` blocks, before any keyword has a
//! meaning.
//!
//! keepalived.conf is line oriented: a statement is a keyword and its
//! arguments on one line; a `{` at the end of a statement (or alone on the
//! next line) opens a block of further statements, closed by `}`. Several
//! statements may share a line when braces separate them
//! (`virtual_ipaddress { 10.0.0.1 }`). This module builds that structure and
//! reports unbalanced braces. It knows no keyword's meaning, only which
//! keywords open a block where they stand ([`opens_block`]), because
//! keepalived 2.2.7 reads braces by that knowledge:
//! - a `{` after any other keyword (unknown, or one that takes a value) is
//!   ignored: the lines after it are read in the enclosing block, and the
//!   next `}` closes that block;
//! - a keyword it reads as a plain list of lines ([`reads_lines`]) written
//!   without its `{` takes the following lines, up to the next `}`, as its
//!   entries;
//! - whether the braces balance is a count over the text, whatever opened
//!   a block: a `}` that takes the count below zero, and a count left above
//!   zero at the end, are the errors (the count restarts from zero after a
//!   surplus `}`).

mod blocks;

use blocks::skipped_by_count;
pub use blocks::{block_keywords, opens_block, reads_lines};

use super::diagnostic::{Diagnostic, Diagnostics, Severity};
use super::lexer;
use super::source::Location;
use super::token::{SourceLine, Token};

/// One statement: `keyword arg arg … [{ children }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub keyword: Token,
    pub args: Vec<Token>,
    pub block: Option<Block>,
}

impl Node {
    pub fn name(&self) -> &str {
        &self.keyword.text
    }

    pub fn at(&self) -> Location {
        self.keyword.at
    }

    /// The children of the block, or an empty slice when there is none.
    pub fn children(&self) -> &[Node] {
        self.block.as_ref().map_or(&[], |b| b.children.as_slice())
    }
}

/// The contents of a `{ … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub open: Location,
    pub children: Vec<Node>,
    /// False for a block keepalived reads although its `{` is missing
    /// (a line list taking the following lines, or a block of keywords
    /// opened at its keyword).
    pub braced: bool,
}

/// The tree and what keepalived's brace count makes of its top level.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// For each top-level node, the end (exclusive) of the run of
    /// top-level nodes that a reader skipping it by counting braces passes
    /// over: keepalived's processes skip the blocks another process reads
    /// that way, from the block's `{` until the count is back where it was.
    /// `i + 1` when the skip ends with node `i` itself; `usize::MAX` when it
    /// never ends.
    pub skip_reach: Vec<usize>,
}

/// Builds the tree from preprocessed lines. Unbalanced braces are reported;
/// the tree is still returned so later stages can say more.
pub fn build(lines: &[SourceLine], diagnostics: &mut Diagnostics) -> Vec<Node> {
    build_tree(lines, diagnostics).nodes
}

/// [`build`], with what keepalived's brace count makes of the top level.
pub fn build_tree(lines: &[SourceLine], diagnostics: &mut Diagnostics) -> Tree {
    let mut builder = Builder::default();
    let mut tokens = Vec::new();
    for line in lines {
        tokens.clear();
        lexer::tokenize(line, &mut tokens, diagnostics);
        builder.line(&mut tokens, diagnostics);
    }
    builder.finish(diagnostics)
}

/// Convenience for tests and tools: tree of a single in-memory text, without
/// preprocessing.
pub fn build_str(text: &str, diagnostics: &mut Diagnostics) -> Vec<Node> {
    let file = super::source::FileId(0);
    let lines: Vec<SourceLine> = text
        .lines()
        .enumerate()
        .map(|(i, l)| SourceLine::verbatim(l, file, u32::try_from(i + 1).unwrap_or(u32::MAX)))
        .collect();
    build(&lines, diagnostics)
}

/// The diagnostic code of a line-list keyword written without its `{`.
pub const LINES_WITHOUT_BRACE: &str = "list-without-brace";
/// The diagnostic code of a block of keywords written without its `{`.
pub const MISSING_OPEN: &str = "missing-open-brace";
/// The diagnostic code of a `{` keepalived ignores (after a keyword that
/// opens no block there, or after no keyword).
pub const IGNORED_OPEN: &str = "ignored-brace";
/// The diagnostic code of a `}` that closes no block because the `{` it
/// balances was ignored: keepalived reads it as an unknown keyword.
pub const CLOSES_NOTHING: &str = "closer-outside-block";

#[derive(Debug, Default)]
struct Builder {
    /// Open blocks: the statement that owns each, innermost last.
    stack: Vec<Node>,
    top: Vec<Node>,
    /// A statement without a block that a `{` on a following line may still
    /// claim (keepalived accepts the brace on its own line).
    pending_brace_owner: bool,
    /// That statement is a line list: unless the next line opens its block,
    /// keepalived reads the lines that follow as its entries.
    pending_line_list: bool,
    /// That statement opens a block of keywords: unless the next line
    /// opens it, keepalived reports the missing `{` and reads the lines
    /// that follow, up to the next `}`, as the block anyway.
    pending_keyword_block: bool,
    /// A line list written without `{`, taking lines until a `}`.
    taking_lines: Option<Node>,
    /// keepalived's brace count: every `{` read and not yet balanced by a
    /// `}`, whether or not it opened a block.
    unbalanced_opens: Vec<Location>,
    /// Top-level blocks whose skip by count has not ended: (node index,
    /// the count before its `{`).
    pending_skips: Vec<(usize, usize)>,
    /// Skips that ended: (node index, reach).
    skip_reach: Vec<(usize, usize)>,
    /// The stack depth of a block keepalived skips whole (see
    /// [`skipped_by_count`]): inside it every `{` opens a level.
    skipping_from: Option<usize>,
}

impl Builder {
    fn children_mut(&mut self) -> &mut Vec<Node> {
        match self.stack.last_mut() {
            Some(node) => &mut node.block.get_or_insert_with(empty_block).children,
            None => &mut self.top,
        }
    }

    /// The innermost named block (levels without a keyword, kept for the
    /// brace count of line lists, are transparent).
    fn parent_name(&self) -> Option<&str> {
        self.stack
            .iter()
            .rev()
            .find(|node| !node.keyword.text.is_empty())
            .map(|node| node.name())
    }

    /// A `{` read: keepalived counts it whatever it opens.
    fn count_open(&mut self, at: Location) {
        self.unbalanced_opens.push(at);
    }

    /// A `}` read. Returns false, after the error, when it takes
    /// keepalived's count below zero (the count then restarts at zero).
    fn count_close(&mut self, at: Location, diagnostics: &mut Diagnostics) -> bool {
        if self.unbalanced_opens.pop().is_some() {
            let count = self.unbalanced_opens.len();
            let started = self.top.len() + usize::from(!self.stack.is_empty());
            let reach = &mut self.skip_reach;
            self.pending_skips.retain(|&(node, base)| {
                let ends = base == count;
                if ends {
                    reach.push((node, started));
                }
                !ends
            });
            return true;
        }
        diagnostics.push(
            Diagnostic::error("unbalanced-brace", "'}' closes no block")
                .spanning(at, 1)
                .with_help("remove it, or look for a missing '{' above"),
        );
        false
    }

    /// A `{` that opens nothing: keepalived ignores it, so what follows is
    /// read in the enclosing block.
    fn ignored_open(&self, owner: Option<&Token>, at: Location, diagnostics: &mut Diagnostics) {
        let within = self.parent_name().map_or_else(
            || "the top level".to_string(),
            |parent| format!("'{parent}'"),
        );
        let message = match owner {
            Some(keyword) => format!(
                "'{}' opens no block in {within}: keepalived ignores this '{{', reads the lines after it in {within}, and the next '}}' closes {within}",
                keyword.text
            ),
            None => format!(
                "'{{' without a keyword: keepalived ignores it and reads the lines after it in {within}"
            ),
        };
        diagnostics.push(
            Diagnostic::warning(IGNORED_OPEN, message)
                .spanning(at, 1)
                .with_help(
                    "remove the braces, or check the keyword's spelling and the block it stands in",
                ),
        );
    }

    fn line(&mut self, tokens: &mut Vec<Token>, diagnostics: &mut Diagnostics) {
        if self.pending_keyword_block && !tokens.is_empty() {
            self.pending_keyword_block = false;
            if !tokens.first().is_some_and(Token::is_open_brace) {
                self.open_without_brace(diagnostics);
            }
        }
        if std::mem::take(&mut self.pending_line_list)
            && !tokens.first().is_some_and(Token::is_open_brace)
        {
            self.start_taking_lines(diagnostics);
        }
        let mut rest = if self.taking_lines.is_some() {
            self.take_line(tokens, diagnostics)
        } else {
            std::mem::take(tokens)
        };
        let mut statement: Vec<Token> = Vec::new();
        let mut first_on_line = true;
        for token in rest.drain(..) {
            if token.is_open_brace() {
                self.count_open(token.at);
                if statement.is_empty() {
                    let owner = (first_on_line && self.pending_brace_owner)
                        .then(|| self.children_mut().last().map(|n| n.keyword.clone()))
                        .flatten();
                    match owner {
                        Some(keyword) if self.opens(&keyword.text) => {
                            self.reopen_last(token.at);
                        }
                        None if self.skipping_from.is_some() => {
                            self.stack.push(anonymous_level(&token));
                        }
                        owner => self.ignored_open(owner.as_ref(), token.at, diagnostics),
                    }
                } else if self.opens(&statement[0].text) {
                    let node = make_node(std::mem::take(&mut statement), Some(token.at));
                    self.open_block(node);
                } else {
                    self.ignored_open(Some(&statement[0]), token.at, diagnostics);
                    let node = make_node(std::mem::take(&mut statement), None);
                    self.children_mut().push(node);
                }
                self.pending_brace_owner = false;
                first_on_line = false;
            } else if token.is_close_brace() {
                if !statement.is_empty() {
                    let node = make_node(std::mem::take(&mut statement), None);
                    self.children_mut().push(node);
                }
                // A block opened without its '{' still closes at a '}'
                // that takes keepalived's count below zero.
                if self.count_close(token.at, diagnostics) || !self.stack.is_empty() {
                    self.close(token.at, diagnostics);
                }
                self.pending_brace_owner = false;
                first_on_line = false;
            } else {
                statement.push(token);
            }
        }
        if !statement.is_empty() {
            let node = make_node(statement, None);
            let reading = self.skipping_from.is_none();
            self.pending_line_list = reading && reads_lines(self.parent_name(), node.name());
            self.pending_keyword_block =
                reading && !self.pending_line_list && opens_block(self.parent_name(), node.name());
            self.children_mut().push(node);
            self.pending_brace_owner = true;
        }
    }

    /// The last statement, a block of keywords written without `{`, opens
    /// anyway: keepalived reports the missing brace and reads the lines
    /// that follow as the block's, up to the next `}`. Its brace count
    /// does not move, so that `}` is one too many for it.
    fn open_without_brace(&mut self, diagnostics: &mut Diagnostics) {
        if let Some(node) =
            self.last_without_brace(diagnostics, Severity::Error, MISSING_OPEN, "its block")
        {
            self.stack.push(node);
        }
    }

    /// The last statement, a line list without `{`, starts taking lines.
    fn start_taking_lines(&mut self, diagnostics: &mut Diagnostics) {
        self.taking_lines = self.last_without_brace(
            diagnostics,
            Severity::Warning,
            LINES_WITHOUT_BRACE,
            "its entries",
        );
    }

    /// Takes the last statement back and gives it a block without a `{`,
    /// reporting that keepalived reads the following lines as `what`.
    fn last_without_brace(
        &mut self,
        diagnostics: &mut Diagnostics,
        severity: Severity,
        code: &'static str,
        what: &str,
    ) -> Option<Node> {
        let mut node = self.children_mut().pop()?;
        let message = format!(
            "'{}' has no '{{': keepalived reads the lines that follow, up to the next '}}', as {what}",
            node.name()
        );
        let diagnostic = match severity {
            Severity::Error => Diagnostic::error(code, message),
            _ => Diagnostic::warning(code, message),
        };
        diagnostics.push(
            diagnostic
                .on(&node.keyword)
                .with_help("open the block with '{' on the keyword's line"),
        );
        node.block = Some(Block {
            open: node.keyword.at,
            children: Vec::new(),
            braced: false,
        });
        Some(node)
    }

    /// One line taken by a line list: its words are an entry, each brace
    /// an entry of its own, and a `}` ends the list (what follows it on
    /// the line is read as usual and returned).
    ///
    /// keepalived counts braces as it reads, whoever reads the line: the
    /// `}` ending a list that had no `{` also counts as closing a block,
    /// and each `{` taken as an entry as opening one. With no `{` taken,
    /// that `}` closes the enclosing block as well; with several, the
    /// extra levels stay open (their statements are kept at the enclosing
    /// level, as for a stray `{`).
    fn take_line(&mut self, tokens: &mut Vec<Token>, diagnostics: &mut Diagnostics) -> Vec<Token> {
        let mut entry: Vec<Token> = Vec::new();
        let mut tokens = tokens.drain(..);
        while let Some(token) = tokens.next() {
            let Some(list) = self.taking_lines.as_mut() else {
                break;
            };
            let children = &mut list.block.get_or_insert_with(empty_block).children;
            if token.is_close_brace() {
                if !entry.is_empty() {
                    children.push(make_node(std::mem::take(&mut entry), None));
                }
                let opened = children
                    .iter()
                    .filter(|n| n.keyword.is_open_brace())
                    .count();
                if let Some(list) = self.taking_lines.take() {
                    self.children_mut().push(list);
                }
                let counted = self.count_close(token.at, diagnostics);
                match opened {
                    0 if counted || !self.stack.is_empty() => self.close(token.at, diagnostics),
                    0 => {}
                    n => {
                        for _ in 1..n {
                            self.stack.push(anonymous_level(&token));
                        }
                    }
                }
                return tokens.collect();
            }
            if token.is_open_brace() {
                if !entry.is_empty() {
                    children.push(make_node(std::mem::take(&mut entry), None));
                }
                let at = token.at;
                children.push(make_node(vec![token], None));
                self.count_open(at);
            } else {
                entry.push(token);
            }
        }
        if let (false, Some(list)) = (entry.is_empty(), self.taking_lines.as_mut()) {
            let children = &mut list.block.get_or_insert_with(empty_block).children;
            children.push(make_node(entry, None));
        }
        Vec::new()
    }

    /// `{` alone on a line: the previous statement owns the block.
    fn reopen_last(&mut self, open: Location) {
        let last = self.children_mut().pop();
        if let Some(mut node) = last {
            node.block = Some(Block {
                open,
                children: Vec::new(),
                braced: true,
            });
            self.open_block(node);
        }
    }

    /// Whether a `{` after `keyword` opens a block here: inside a block
    /// keepalived skips, every `{` does.
    fn opens(&self, keyword: &str) -> bool {
        self.skipping_from.is_some() || opens_block(self.parent_name(), keyword)
    }

    /// A block opens (its `{` already counted); a top-level one starts a
    /// skip by count for the readers that do not read it.
    fn open_block(&mut self, node: Node) {
        if self.skipping_from.is_none() && skipped_by_count(self.parent_name(), &node) {
            self.skipping_from = Some(self.stack.len());
        }
        if self.stack.is_empty() {
            let base = self.unbalanced_opens.len().saturating_sub(1);
            self.pending_skips.push((self.top.len(), base));
        }
        self.stack.push(node);
    }

    fn close(&mut self, at: Location, diagnostics: &mut Diagnostics) {
        let popped = self.stack.pop();
        if self.skipping_from == Some(self.stack.len()) {
            self.skipping_from = None;
        }
        match popped {
            Some(node) => {
                if node.keyword.text.is_empty() {
                    // An anonymous block from a stray '{': its statements are
                    // kept at the enclosing level so they are still checked.
                    let children = node.block.map(|b| b.children).unwrap_or_default();
                    self.children_mut().extend(children);
                } else {
                    self.children_mut().push(node);
                }
            }
            None => diagnostics.push(
                Diagnostic::warning(
                    CLOSES_NOTHING,
                    "'}' closes no block here (the '{' it balances was ignored): keepalived reads it as an unknown keyword",
                )
                .spanning(at, 1)
                .with_help("look for a '{' above that keepalived ignores"),
            ),
        }
    }

    fn finish(mut self, diagnostics: &mut Diagnostics) -> Tree {
        if let Some(list) = self.taking_lines.take() {
            self.children_mut().push(list);
        }
        while let Some(node) = self.stack.pop() {
            let open = node.block.as_ref().map_or(node.keyword.at, |b| b.open);
            if node.keyword.text.is_empty() {
                let children = node.block.map(|b| b.children).unwrap_or_default();
                self.children_mut().extend(children);
                continue;
            }
            self.unbalanced_opens.retain(|at| *at != open);
            diagnostics.push(
                Diagnostic::error(
                    "unclosed-block",
                    format!("block '{}' is never closed", node.keyword.text),
                )
                .spanning(open, 1)
                .with_help("add the missing '}'"),
            );
            self.children_mut().push(node);
        }
        // '{'s keepalived counted that opened no block are never closed
        // either.
        for open in std::mem::take(&mut self.unbalanced_opens) {
            diagnostics.push(
                Diagnostic::error("unclosed-block", "this '{' is never closed")
                    .spanning(open, 1)
                    .with_help("add the missing '}', or remove this '{'"),
            );
        }
        let mut skip_reach: Vec<usize> = (1..=self.top.len()).collect();
        let unended = self
            .pending_skips
            .iter()
            .map(|&(node, _)| (node, usize::MAX));
        for (node, reach) in self.skip_reach.iter().copied().chain(unended) {
            if let Some(slot) = skip_reach.get_mut(node) {
                *slot = reach.max(node + 1);
            }
        }
        Tree {
            nodes: self.top,
            skip_reach,
        }
    }
}

/// A block level without a keyword: when it closes, its statements are
/// kept at the enclosing level.
fn anonymous_level(at: &Token) -> Node {
    Node {
        keyword: Token {
            text: Default::default(),
            ..at.clone()
        },
        args: Vec::new(),
        block: Some(Block {
            open: at.at,
            children: Vec::new(),
            braced: true,
        }),
    }
}

fn empty_block() -> Block {
    Block {
        open: Location::default(),
        children: Vec::new(),
        braced: true,
    }
}

fn make_node(mut statement: Vec<Token>, open: Option<Location>) -> Node {
    let keyword = statement.remove(0);
    Node {
        keyword,
        args: statement,
        block: open.map(|open| Block {
            open,
            children: Vec::new(),
            braced: true,
        }),
    }
}

#[cfg(test)]
mod tests;
