//! An instance's `virtual_routes` and `virtual_rules`: installed when it
//! becomes MASTER, removed when it leaves MASTER or stops
//! (keepalived.conf(5): "routes add|del when changing to MASTER, to
//! BACKUP"). The state machine knows nothing of them; this module places
//! their changes among its actions, in keepalived's order: routes then
//! rules right after the instance's VIPs are added, rules then routes
//! right before its VIPs are removed (a route's `src` must still be a
//! local address when the kernel sees it). An instance that starts
//! outside MASTER clears them too, as keepalived does.

use std::collections::HashMap;

use super::node_task::NodeTask;
use crate::config::model::Config;
use crate::vrrp::machine::{State, VrrpAction};
use crate::vrrp::routing::{RouteSet, TableNames};

/// One thing for the engine to do: a state machine action, or an
/// instance's routes and rules going in or out.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Act(VrrpAction),
    Routes { instance: String, install: bool },
}

/// The kernel form of every instance's routes and rules, by instance
/// name (instances without any are left out).
pub fn route_sets(config: &Config, tables: &TableNames) -> HashMap<String, RouteSet> {
    config
        .vrrp
        .instances
        .iter()
        .filter_map(|i| {
            let owner = format!("({})", i.name.value);
            let set = RouteSet::build(&owner, &i.virtual_routes, &i.virtual_rules, tables);
            (!set.is_empty()).then(|| (i.name.value.clone(), set))
        })
        .collect()
}

/// `actions` with the route changes their transitions call for: after a
/// transition into MASTER, behind that instance's `AddVips` (or the
/// transition itself when it has no VIPs); for a transition out of
/// MASTER, ahead of that instance's `RemoveVips` wherever it stands (a
/// stop removes the VIPs before announcing the transition), else behind
/// the transition.
pub fn interleave(actions: Vec<VrrpAction>) -> Vec<Step> {
    let mut before: HashMap<usize, Vec<Step>> = HashMap::new();
    let mut after: HashMap<usize, Vec<Step>> = HashMap::new();
    for (i, action) in actions.iter().enumerate() {
        let VrrpAction::StateChanged { instance, from, to } = action else {
            continue;
        };
        let install = match (*from, *to) {
            (State::Master, State::Master) => continue,
            (_, State::Master) => true,
            (State::Master, _) => false,
            // keepalived 2.2.7 clears an instance's routes and rules when
            // it starts in BACKUP (measured: "(VI_1) removing Virtual
            // Rules" / "removing Virtual Routes" before "Entering BACKUP
            // STATE (init)"), so a crashed master's leftovers go.
            (State::Initialize, _) => false,
            _ => continue,
        };
        let step = Step::Routes {
            instance: instance.clone(),
            install,
        };
        let vips = actions.iter().enumerate().position(|(j, a)| match a {
            VrrpAction::AddVips { instance: of, .. } if install => j > i && of == instance,
            VrrpAction::RemoveVips { instance: of, .. } if !install => of == instance,
            _ => false,
        });
        match vips {
            Some(j) if install => after.entry(j).or_default().push(step),
            Some(j) => before.entry(j).or_default().push(step),
            None => after.entry(i).or_default().push(step),
        }
    }
    let mut out = Vec::with_capacity(actions.len() + before.len() + after.len());
    for (i, action) in actions.into_iter().enumerate() {
        out.extend(before.remove(&i).unwrap_or_default());
        out.push(Step::Act(action));
        out.extend(after.remove(&i).unwrap_or_default());
    }
    out
}

impl NodeTask {
    /// Installs (routes, then rules) or removes (rules, then routes) the
    /// instance's set; a failure is logged and the rest goes on.
    pub(super) async fn change_routes(&mut self, instance: &str, install: bool) {
        let Some(set) = self.route_sets.get(instance).cloned() else {
            return;
        };
        let host = std::sync::Arc::clone(&self.host);
        if install {
            if !set.routes.is_empty() {
                tracing::info!("({instance}) setting Virtual Routes");
            }
            for route in &set.routes {
                if let Err(e) = host.add_route(route).await {
                    tracing::error!("({instance}) cannot add route {route}: {e}");
                }
            }
            if !set.rules.is_empty() {
                tracing::info!("({instance}) setting Virtual Rules");
            }
            for rule in &set.rules {
                if let Err(e) = host.add_rule(rule).await {
                    tracing::error!("({instance}) cannot add rule {rule}: {e}");
                }
            }
        } else {
            if !set.rules.is_empty() {
                tracing::info!("({instance}) removing Virtual Rules");
            }
            for rule in set.rules.iter().rev() {
                if let Err(e) = host.remove_rule(rule).await {
                    tracing::error!("({instance}) cannot remove rule {rule}: {e}");
                }
            }
            if !set.routes.is_empty() {
                tracing::info!("({instance}) removing Virtual Routes");
            }
            for route in set.routes.iter().rev() {
                if let Err(e) = host.remove_route(route).await {
                    tracing::error!("({instance}) cannot remove route {route}: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(from: State, to: State) -> VrrpAction {
        VrrpAction::StateChanged {
            instance: "VI_1".into(),
            from,
            to,
        }
    }

    fn vips(add: bool) -> VrrpAction {
        let (instance, interface, vips) = ("VI_1".to_string(), None, Vec::new());
        if add {
            VrrpAction::AddVips {
                instance,
                interface,
                vips,
            }
        } else {
            VrrpAction::RemoveVips {
                instance,
                interface,
                vips,
            }
        }
    }

    fn routes(install: bool) -> Step {
        Step::Routes {
            instance: "VI_1".into(),
            install,
        }
    }

    fn log() -> VrrpAction {
        VrrpAction::Log { line: "x".into() }
    }

    #[test]
    fn becoming_master_installs_the_routes_after_the_vips() {
        let steps = interleave(vec![
            changed(State::Backup, State::Master),
            vips(true),
            log(),
        ]);
        assert_eq!(
            steps,
            vec![
                Step::Act(changed(State::Backup, State::Master)),
                Step::Act(vips(true)),
                routes(true),
                Step::Act(log()),
            ]
        );
    }

    #[test]
    fn leaving_master_removes_the_routes_before_the_vips() {
        let steps = interleave(vec![changed(State::Master, State::Backup), vips(false)]);
        assert_eq!(
            steps,
            vec![
                Step::Act(changed(State::Master, State::Backup)),
                routes(false),
                Step::Act(vips(false)),
            ]
        );
        // A stop releases the VIPs before it announces the transition.
        let steps = interleave(vec![vips(false), changed(State::Master, State::Initialize)]);
        assert_eq!(steps[0], routes(false));
    }

    #[test]
    fn an_instance_without_vips_changes_its_routes_at_the_transition() {
        let steps = interleave(vec![changed(State::Backup, State::Master), log()]);
        assert_eq!(steps[1], routes(true));
        let steps = interleave(vec![changed(State::Backup, State::Fault)]);
        assert_eq!(steps.len(), 1, "no MASTER involved, no route change");
    }

    #[test]
    fn starting_in_backup_clears_what_a_crashed_master_left() {
        let steps = interleave(vec![changed(State::Initialize, State::Backup)]);
        assert_eq!(steps[1], routes(false));
    }
}
