//! Real servers in and out of their virtual server's pool: notify scripts,
//! weights, quorum with hysteresis, the sorry server, and the membership
//! that results (keepalived 2.2, ipwrapper.c: perform_svr_state,
//! update_quorum_state, update_svr_wgt, clear_service_vs).

use std::time::Duration;

use crate::ipvs::model::DestConfig;

use super::actions::{CheckAction, HealthEvent, LogLevel};
use super::{texts, HealthMachine};

impl HealthMachine {
    /// A real server goes up or down (all its checkers up, or one down).
    pub(super) fn set_real_server(&mut self, rs: usize, alive: bool, now: Duration) {
        if self.real_servers[rs].alive == alive {
            return;
        }
        let plan = &self.plan.real_servers[rs];
        let vs = plan.vs;
        let line = texts::service_change_line(
            alive,
            plan.inhibit,
            &plan.name,
            &self.plan.virtual_servers[vs].name,
        );
        self.out.push(CheckAction::Log {
            level: LogLevel::Info,
            line,
        });
        self.real_servers[rs].alive = alive;
        self.out.push(CheckAction::Event {
            event: HealthEvent::RealServer {
                virtual_server: self.plan.virtual_servers[vs].name.clone(),
                real_server: self.plan.real_servers[rs].name.clone(),
                up: alive,
                weight: self.real_servers[rs].weight,
            },
        });
        self.rs_notifies(rs);
        self.dirty.push(vs);
        self.update_quorum(vs, false, now);
    }

    /// notify_up / notify_down for the real server's current state.
    pub(super) fn rs_notifies(&mut self, rs: usize) {
        let plan = &self.plan.real_servers[rs];
        let script = if self.real_servers[rs].alive {
            &plan.notify_up
        } else {
            &plan.notify_down
        };
        if let Some(script) = script {
            self.out.push(CheckAction::RunScript {
                script: script.clone(),
            });
        }
    }

    /// The weight a real server's checkers ask for (misc_dynamic), else
    /// its configured weight.
    pub(super) fn apply_weight(&mut self, rs: usize, now: Duration) {
        let plan = &self.plan.real_servers[rs];
        let wanted = plan
            .checkers
            .iter()
            .find_map(|id| self.checkers[id.index()].weight)
            .unwrap_or(plan.weight);
        let state = &self.real_servers[rs];
        if wanted == state.weight {
            return;
        }
        let vs = plan.vs;
        let line = texts::weight_change_line(
            state.weight,
            wanted,
            state.alive,
            &plan.name,
            &self.plan.virtual_servers[vs].name,
        );
        self.out.push(CheckAction::Log {
            level: LogLevel::Info,
            line,
        });
        self.out.push(CheckAction::Event {
            event: HealthEvent::Weight {
                virtual_server: self.plan.virtual_servers[vs].name.clone(),
                real_server: plan.name.clone(),
                from: state.weight,
                to: wanted,
            },
        });
        self.real_servers[rs].weight = wanted;
        self.dirty.push(vs);
        self.update_quorum(vs, false, now);
    }

    /// Sum of the weights of the live real servers of a virtual server.
    pub(super) fn weight_sum(&self, vs: usize) -> u64 {
        self.plan.virtual_servers[vs]
            .real_servers
            .clone()
            .filter(|&rs| self.real_servers[rs].alive)
            .map(|rs| u64::from(self.real_servers[rs].weight))
            .sum()
    }

    /// Quorum with hysteresis: gained at `quorum + hysteresis`, lost below
    /// `quorum - hysteresis` (or at zero). The sorry server goes in when
    /// the quorum is lost and out when it returns; `init` also puts it in
    /// at start when the quorum is down.
    pub(super) fn update_quorum(&mut self, vs: usize, init: bool, _now: Duration) {
        let sum = self.weight_sum(vs);
        let plan = &self.plan.virtual_servers[vs];
        let state = &self.virtual_servers[vs];
        let (quorum, hysteresis) = (plan.quorum, plan.hysteresis);
        let threshold = if state.quorum_up {
            i64::from(quorum) - i64::from(hysteresis)
        } else {
            i64::from(quorum) + i64::from(hysteresis)
        };
        let sum_signed = i64::try_from(sum).unwrap_or(i64::MAX);
        if !state.quorum_up && sum_signed >= threshold {
            self.virtual_servers[vs].quorum_up = true;
            let line = texts::gained_quorum_line(quorum, hysteresis, threshold, sum, &plan.name);
            self.out.push(CheckAction::Log {
                level: LogLevel::Info,
                line,
            });
            if self.virtual_servers[vs].sorry_active {
                self.set_sorry(vs, false);
            }
            self.vs_notifies(vs, init, threshold, sum);
        } else if (state.quorum_up && (sum == 0 || sum_signed < threshold))
            || (init && !state.quorum_up && plan.sorry.is_some() && !state.sorry_active)
        {
            self.virtual_servers[vs].quorum_up = false;
            let line =
                texts::lost_quorum_line(init, quorum, hysteresis, threshold, sum, &plan.name);
            self.out.push(CheckAction::Log {
                level: LogLevel::Info,
                line,
            });
            if plan.sorry.is_some() && !self.virtual_servers[vs].sorry_active {
                self.set_sorry(vs, true);
            }
            self.vs_notifies(vs, init, threshold, sum);
        }
    }

    fn set_sorry(&mut self, vs: usize, active: bool) {
        let plan = &self.plan.virtual_servers[vs];
        let Some(sorry) = &plan.sorry else {
            return;
        };
        let line = texts::sorry_server_line(active, sorry.inhibit, &sorry.name, &plan.name);
        self.out.push(CheckAction::Log {
            level: LogLevel::Info,
            line,
        });
        // Alive real servers leave while the sorry server serves, and come
        // back with it gone.
        let pool = texts::pool_line(!active, &plan.name);
        let event = HealthEvent::SorryServer {
            virtual_server: plan.name.clone(),
            sorry_server: sorry.name.clone(),
            active,
        };
        self.out.push(CheckAction::Log {
            level: LogLevel::Info,
            line: pool,
        });
        self.virtual_servers[vs].sorry_active = active;
        self.out.push(CheckAction::Event { event });
        self.dirty.push(vs);
    }

    fn vs_notifies(&mut self, vs: usize, init: bool, threshold: i64, sum: u64) {
        let plan = &self.plan.virtual_servers[vs];
        let up = self.virtual_servers[vs].quorum_up;
        self.out.push(CheckAction::Event {
            event: HealthEvent::Quorum {
                virtual_server: plan.name.clone(),
                up,
                weight_sum: sum,
                threshold,
            },
        });
        let script = if up {
            &plan.quorum_up
        } else {
            &plan.quorum_down
        };
        if let Some(script) = script {
            self.out.push(CheckAction::RunScript {
                script: script.clone(),
            });
        }
        if plan.smtp_alert {
            self.out.push(CheckAction::SendAlert {
                subject: texts::virtual_server_subject(&self.plan.router_id, &plan.name, up),
                body: texts::quorum_alert_body(
                    up,
                    init,
                    plan.quorum,
                    plan.hysteresis,
                    threshold,
                    sum,
                ),
            });
        }
    }

    /// Stop: everything leaves; `omega` runs the down scripts and alerts.
    pub(super) fn stop_virtual_server(&mut self, vs: usize, _now: Duration) {
        if self.virtual_servers[vs].stopped {
            return;
        }
        let omega = self.plan.virtual_servers[vs].omega;
        self.virtual_servers[vs].sorry_active = false;
        for rs in self.plan.virtual_servers[vs].real_servers.clone() {
            let plan = &self.plan.real_servers[rs];
            let line = texts::shutdown_line(&plan.name, &self.plan.virtual_servers[vs].name);
            self.out.push(CheckAction::Log {
                level: LogLevel::Info,
                line,
            });
            if !self.real_servers[rs].alive {
                continue;
            }
            self.real_servers[rs].alive = false;
            if !omega {
                continue;
            }
            self.rs_notifies(rs);
            let plan = &self.plan.real_servers[rs];
            if plan.smtp_alert {
                let subject = texts::real_server_subject(
                    &self.plan.router_id,
                    &plan.name,
                    &self.plan.virtual_servers[vs].name,
                    false,
                );
                self.out.push(CheckAction::SendAlert {
                    subject,
                    body: texts::SHUTDOWN_BODY.into(),
                });
            }
        }
        self.virtual_servers[vs].quorum_up = false;
        self.virtual_servers[vs].stopped = true;
        if omega {
            let plan = &self.plan.virtual_servers[vs];
            if let Some(script) = &plan.quorum_down {
                self.out.push(CheckAction::RunScript {
                    script: script.clone(),
                });
            }
            if plan.smtp_alert {
                self.out.push(CheckAction::SendAlert {
                    subject: texts::virtual_server_subject(&self.plan.router_id, &plan.name, false),
                    body: texts::SHUTDOWN_BODY.into(),
                });
            }
        }
        self.dirty.push(vs);
    }

    /// The destinations health wants in one service of a virtual server.
    pub(super) fn membership(&self, vs: usize, service: usize) -> Vec<DestConfig> {
        let plan = &self.plan.virtual_servers[vs];
        let state = &self.virtual_servers[vs];
        if state.stopped {
            return Vec::new();
        }
        let configured = &plan.services[service].dests;
        let mut out = Vec::with_capacity(configured.len() + 1);
        for (offset, rs) in plan.real_servers.clone().enumerate() {
            let rs_state = &self.real_servers[rs];
            let inhibit = self.plan.real_servers[rs].inhibit;
            let weight = if rs_state.alive && !state.sorry_active {
                Some(i32::try_from(rs_state.weight).unwrap_or(i32::MAX))
            } else if inhibit {
                Some(0)
            } else {
                None
            };
            if let (Some(weight), Some(dest)) = (weight, configured.get(offset)) {
                out.push(DestConfig { weight, ..*dest });
            }
        }
        if let Some(sorry) = &plan.sorry {
            let weight = if state.sorry_active {
                Some(1)
            } else if sorry.inhibit {
                Some(0)
            } else {
                None
            };
            if let (Some(weight), Some(dest)) = (weight, sorry.dests.get(service)) {
                out.retain(|d| d.key != dest.key);
                out.push(DestConfig { weight, ..*dest });
            }
        }
        out
    }

    /// Emits SetDest/RemoveDest for what changed since the last
    /// announcement of this virtual server.
    pub(super) fn announce(&mut self, vs: usize) {
        for service in 0..self.plan.virtual_servers[vs].services.len() {
            let now = self.membership(vs, service);
            let before = std::mem::take(&mut self.virtual_servers[vs].announced[service]);
            let key = self.plan.virtual_servers[vs].services[service].config.key;
            for old in &before {
                if !now.iter().any(|d| d.key == old.key) {
                    self.out.push(CheckAction::RemoveDest {
                        service: key,
                        dest: old.key,
                    });
                }
            }
            for new in &now {
                if before.iter().find(|d| d.key == new.key) != Some(new) {
                    self.out.push(CheckAction::SetDest {
                        service: key,
                        dest: *new,
                    });
                }
            }
            self.virtual_servers[vs].announced[service] = now;
        }
    }
}
