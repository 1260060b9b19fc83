//! `vrrp_sync_group`: members move together (keepalived.conf(5)). If one
//! member goes FAULT the others are held in FAULT; if one drops from MASTER
//! to BACKUP the others follow; a member only becomes MASTER when every
//! member wants to. Also runs the group's notify scripts.
//!
//! Works on the instances the node owns; never sends or schedules anything
//! itself, only feeds the members events and collects their actions.

use serde::Serialize;

use crate::vrrp::machine::{
    Event, Instance, NoticeState, NotifyKind, NotifyScripts, NotifyTarget, ScriptCommand, State,
    Timestamp, VrrpAction,
};

/// One `vrrp_sync_group` running.
#[derive(Debug, Clone)]
pub struct SyncGroup {
    pub name: String,
    /// Indexes into the node's instances.
    pub members: Vec<usize>,
    pub notify: NotifyScripts,
    state: State,
}

/// The group as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncGroupSnapshot {
    pub name: String,
    pub state: State,
    pub members: Vec<String>,
}

impl SyncGroup {
    pub fn new(name: String, members: Vec<usize>, notify: NotifyScripts) -> Self {
        Self {
            name,
            members,
            notify,
            state: State::Initialize,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn snapshot(&self, instances: &[Instance]) -> SyncGroupSnapshot {
        SyncGroupSnapshot {
            name: self.name.clone(),
            state: self.state,
            members: self
                .members
                .iter()
                .filter_map(|&i| instances.get(i).map(|m| m.name().to_string()))
                .collect(),
        }
    }

    /// Brings the members in line after `round` (the actions just taken);
    /// appends what that takes to `out`. Returns whether anything moved.
    pub fn reconcile(
        &mut self,
        now: Timestamp,
        instances: &mut [Instance],
        round: &[VrrpAction],
        out: &mut Vec<VrrpAction>,
    ) -> bool {
        let mut moved = false;
        // FAULT: every member is held while another one has its own fault.
        let faulty: Vec<usize> = self
            .members
            .iter()
            .copied()
            .filter(|&i| instances.get(i).is_some_and(Instance::has_own_fault))
            .collect();
        let mut announced = false;
        for &member in &self.members {
            let held = faulty.iter().any(|&f| f != member);
            let Some(instance) = instances.get_mut(member) else {
                continue;
            };
            if instance.group_fault() != held {
                if held && !announced && instance.state() != State::Fault {
                    out.push(self.log("FAULT"));
                    announced = true;
                }
                out.extend(instance.handle(now, Event::GroupFault(held)));
                moved = true;
            }
        }
        // BACKUP: a member that left MASTER for BACKUP takes the others.
        let dropped = round.iter().any(|action| {
            matches!(action, VrrpAction::StateChanged { instance, from: State::Master, to: State::Backup }
                if self.is_member(instances, instance))
        });
        if dropped {
            let masters: Vec<usize> = self
                .members
                .iter()
                .copied()
                .filter(|&i| instances.get(i).is_some_and(|m| m.state() == State::Master))
                .collect();
            if !masters.is_empty() {
                out.push(self.log("BACKUP"));
                for i in masters {
                    if let Some(instance) = instances.get_mut(i) {
                        out.extend(instance.handle(now, Event::SyncGoBackup));
                    }
                }
                moved = true;
            }
        }
        // MASTER: only when every member wants it (or already is).
        let ready = |m: &Instance| m.wants_master() || m.state() == State::Master;
        let members: Vec<&Instance> = self
            .members
            .iter()
            .filter_map(|&i| instances.get(i))
            .collect();
        if members.iter().any(|m| m.wants_master()) && members.iter().all(|m| ready(m)) {
            out.push(self.log("MASTER"));
            for &i in &self.members {
                if let Some(instance) = instances.get_mut(i) {
                    out.extend(instance.handle(now, Event::SyncGoMaster));
                }
            }
            moved = true;
        }
        self.update_state(instances, out);
        moved
    }

    fn is_member(&self, instances: &[Instance], name: &str) -> bool {
        self.members
            .iter()
            .any(|&i| instances.get(i).is_some_and(|m| m.name() == name))
    }

    fn log(&self, state: &str) -> VrrpAction {
        VrrpAction::Log {
            line: format!(
                "VRRP_Group({}) Syncing instances to {state} state",
                self.name
            ),
        }
    }

    /// The group's own state (FAULT if any member is, MASTER if all are,
    /// BACKUP otherwise) and its notify scripts when it changes.
    fn update_state(&mut self, instances: &[Instance], out: &mut Vec<VrrpAction>) {
        let states: Vec<State> = self
            .members
            .iter()
            .filter_map(|&i| instances.get(i).map(Instance::state))
            .collect();
        let state = if states.iter().all(|s| *s == State::Initialize) {
            State::Initialize
        } else if states.contains(&State::Fault) {
            State::Fault
        } else if states.iter().all(|s| *s == State::Master) {
            State::Master
        } else {
            State::Backup
        };
        if state == self.state {
            return;
        }
        self.state = state;
        let (kind, notice, own) = match state {
            State::Master => (NotifyKind::Master, NoticeState::Master, &self.notify.master),
            State::Backup => (NotifyKind::Backup, NoticeState::Backup, &self.notify.backup),
            State::Fault => (NotifyKind::Fault, NoticeState::Fault, &self.notify.fault),
            State::Initialize => (NotifyKind::Stop, NoticeState::Stop, &self.notify.stop),
        };
        if let Some(script) = own {
            out.push(VrrpAction::RunNotify {
                target: NotifyTarget::Group,
                name: self.name.clone(),
                kind,
                command: ScriptCommand::from(script),
            });
        }
        if let Some(script) = &self.notify.any {
            // keepalived.conf(5): GROUP, name, state, priority; a group
            // has no priority and keepalived 2.2.7 passes 0 (recorded).
            let mut command = ScriptCommand::from(script);
            command.argv.extend([
                "GROUP".to_string(),
                self.name.clone(),
                notice.keyword().to_string(),
                "0".to_string(),
            ]);
            out.push(VrrpAction::RunNotify {
                target: NotifyTarget::Group,
                name: self.name.clone(),
                kind: NotifyKind::Any,
                command,
            });
        }
        // keepalived 2.2.7 mails a group's MASTER, BACKUP and FAULT, not
        // its STOP (recorded: tests/fixtures/notify/keepalived-vrrp).
        out.push(VrrpAction::Notice {
            target: NotifyTarget::Group,
            name: self.name.clone(),
            state: notice,
            priority: 0,
            alert: self.notify.smtp_alert && notice != NoticeState::Stop,
        });
    }
}
