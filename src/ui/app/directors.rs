//! Several directors in one console: each one's link and latest snapshot
//! (for the strip under the header and the alarm), which one the screens
//! show, and switching between them. Updates from the director shown go
//! on to [`App::on_update`]; the others only feed the strip. With one
//! source (no `--director`) the list is empty and nothing here shows.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{App, Dialog, Mode, EVENTS_KEPT};
use crate::fleet::{alarms, Alarm, DirectorRoles, DirectorSpec, InstanceRole};
use crate::northbound::{Event, Snapshot, Update};

/// Whether a director answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Not heard from yet.
    Connecting,
    Up,
    /// Not answering, and why; retried.
    Down(String),
}

/// One director the console watches.
#[derive(Debug, Clone)]
pub struct DirectorView {
    pub name: String,
    pub socket: String,
    pub link: Link,
    /// Its latest state, kept while it is unreachable (shown as such).
    pub latest: Option<Arc<Snapshot>>,
    /// Its latest events, so the events screen is whole after a switch.
    pub events: VecDeque<Event>,
}

/// Every director watched, and which one the screens show.
#[derive(Debug, Clone, Default)]
pub struct Directors {
    pub list: Vec<DirectorView>,
    pub shown: usize,
}

impl Directors {
    pub fn new(specs: &[DirectorSpec]) -> Directors {
        Directors {
            list: specs
                .iter()
                .map(|spec| DirectorView {
                    name: spec.name.clone(),
                    socket: spec.socket.display().to_string(),
                    link: Link::Connecting,
                    latest: None,
                    events: VecDeque::new(),
                })
                .collect(),
            shown: 0,
        }
    }

    /// More than one director: the strip, the alarm and switching apply.
    pub fn several(&self) -> bool {
        self.list.len() > 1
    }

    pub fn shown(&self) -> Option<&DirectorView> {
        self.list.get(self.shown)
    }

    /// Every alarm over the directors that answer.
    pub fn alarms(&self) -> Vec<Alarm> {
        if !self.several() {
            return Vec::new();
        }
        let roles: Vec<DirectorRoles<'_>> = self
            .list
            .iter()
            .map(|d| DirectorRoles {
                director: &d.name,
                instances: match (&d.link, &d.latest) {
                    (Link::Up, Some(snapshot)) => Some(
                        snapshot
                            .vrrp
                            .instances
                            .iter()
                            .map(|i| InstanceRole {
                                name: &i.name,
                                vrid: i.vrid,
                                vips: &i.vips,
                                state: i.state,
                            })
                            .collect(),
                    ),
                    _ => None,
                },
            })
            .collect();
        alarms(&roles)
    }
}

impl App {
    pub fn directors(&self) -> &Directors {
        &self.directors
    }

    /// The index of the director the screens show (commands go there).
    pub fn shown_director(&self) -> usize {
        self.directors.shown
    }

    /// Something from director `index`.
    pub fn on_director_update(&mut self, index: usize, update: Update) {
        if let Some(director) = self.directors.list.get_mut(index) {
            match &update {
                Update::Snapshot(snapshot) => {
                    director.latest = Some(Arc::clone(snapshot));
                    director.link = Link::Up;
                }
                Update::Events { events, .. } => {
                    for event in events {
                        if director.events.len() == EVENTS_KEPT {
                            director.events.pop_front();
                        }
                        director.events.push_back(event.clone());
                    }
                }
                Update::Lost(_) => {}
            }
        }
        if index == self.directors.shown {
            self.on_update(update);
        }
    }

    /// Director `index` answers again (its snapshot follows).
    pub fn on_director_attached(&mut self, index: usize) {
        if let Some(director) = self.directors.list.get_mut(index) {
            if director.link != Link::Up {
                director.link = Link::Up;
            }
        }
    }

    /// Director `index` does not answer. Said once per outage, not at
    /// every retry.
    pub fn on_director_unreachable(&mut self, index: usize, reason: String) {
        let Some(director) = self.directors.list.get_mut(index) else {
            return;
        };
        let news = !matches!(&director.link, Link::Down(_));
        director.link = Link::Down(reason.clone());
        if news && index == self.directors.shown {
            self.on_update(Update::Lost(reason));
        }
    }

    /// The director's connection table, when it is the one shown.
    pub fn on_director_connections(
        &mut self,
        index: usize,
        list: Vec<crate::northbound::Connection>,
    ) {
        if index == self.directors.shown {
            self.on_connections(list);
        }
    }

    /// Show the next (`forward`) or previous director: the screens start
    /// over from its latest snapshot.
    pub(crate) fn switch_director(&mut self, forward: bool) {
        let count = self.directors.list.len();
        if count < 2 {
            self.say(
                "only one director: start with --director NAME=SOCKET for more",
                true,
            );
            return;
        }
        let shown = self.directors.shown;
        self.directors.shown = if forward {
            (shown + 1) % count
        } else {
            (shown + count - 1) % count
        };
        self.snapshot = None;
        self.groups.clear();
        self.connections = None;
        self.log.clear();
        self.missed_events = false;
        self.lost = None;
        self.history.clear();
        self.selected = None;
        self.cursor.clear();
        self.pending_apply = None;
        self.rollback_at_ms = None;
        let Some(director) = self.directors.shown().cloned() else {
            return;
        };
        self.source = format!("director {} {}", director.name, director.socket);
        if let Some(snapshot) = director.latest {
            self.on_update(Update::Snapshot(snapshot));
        }
        if !director.events.is_empty() {
            self.on_update(Update::Events {
                events: director.events.into_iter().collect(),
                missed: false,
            });
        }
        if let Link::Down(reason) = director.link {
            self.lost = Some(reason);
        }
        self.say(format!("showing director {}", director.name), false);
    }

    /// Ask before a dangerous action; with several directors the title
    /// names the one it goes to.
    pub(crate) fn confirm(&mut self, mut dialog: Dialog) {
        if self.directors.several() {
            if let Some(director) = self.directors.shown() {
                dialog.title = format!("{}: {}", director.name, dialog.title);
            }
        }
        self.mode = Mode::Confirm(dialog);
    }
}
