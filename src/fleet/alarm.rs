//! The alarm over a pair (or a fleet) of directors: each VRRP instance
//! must be MASTER on exactly one of the directors that answer. Two MASTERs
//! is a split brain (both own the VIPs); none means nobody serves them.
//! Pure: roles in, alarms out.

use std::collections::BTreeMap;
use std::fmt;

use crate::vrrp::fsm::State;

/// What one director says about its instances; `None` when it does not
/// answer (it then counts for neither alarm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorRoles<'a> {
    pub director: &'a str,
    pub instances: Option<Vec<(&'a str, State)>>,
}

/// A disagreement about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alarm {
    /// MASTER on more than one director.
    SplitBrain {
        instance: String,
        masters: Vec<String>,
    },
    /// Known to answering directors, MASTER on none of them.
    NoMaster { instance: String },
}

impl fmt::Display for Alarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Alarm::SplitBrain { instance, masters } => write!(
                f,
                "SPLIT BRAIN: {instance} is MASTER on {}",
                masters.join(" and ")
            ),
            Alarm::NoMaster { instance } => {
                write!(f, "NO MASTER: {instance} is MASTER on no director")
            }
        }
    }
}

/// Every alarm, by instance name.
pub fn alarms(directors: &[DirectorRoles<'_>]) -> Vec<Alarm> {
    let mut masters: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for director in directors {
        for (instance, state) in director.instances.iter().flatten() {
            let entry = masters.entry(instance).or_default();
            if *state == State::Master {
                entry.push(director.director.to_string());
            }
        }
    }
    masters
        .into_iter()
        .filter_map(|(instance, masters)| match masters.len() {
            0 => Some(Alarm::NoMaster {
                instance: instance.to_string(),
            }),
            1 => None,
            _ => Some(Alarm::SplitBrain {
                instance: instance.to_string(),
                masters,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::{Backup, Fault, Master};

    fn roles<'a>(director: &'a str, instances: &[(&'a str, State)]) -> DirectorRoles<'a> {
        DirectorRoles {
            director,
            instances: Some(instances.to_vec()),
        }
    }

    #[test]
    fn one_master_per_instance_is_quiet() {
        let pair = [
            roles("lb1", &[("VI_1", Master), ("VI_2", Backup)]),
            roles("lb2", &[("VI_1", Backup), ("VI_2", Master)]),
        ];
        assert_eq!(alarms(&pair), Vec::new());
    }

    #[test]
    fn two_masters_for_one_instance_is_a_split_brain() {
        let pair = [
            roles("lb1", &[("VI_1", Master), ("VI_2", Master)]),
            roles("lb2", &[("VI_1", Master), ("VI_2", Backup)]),
        ];
        let found = alarms(&pair);
        assert_eq!(
            found,
            vec![Alarm::SplitBrain {
                instance: "VI_1".into(),
                masters: vec!["lb1".into(), "lb2".into()],
            }]
        );
        assert_eq!(
            found[0].to_string(),
            "SPLIT BRAIN: VI_1 is MASTER on lb1 and lb2"
        );
    }

    #[test]
    fn no_master_among_the_answering_directors_is_an_alarm() {
        let pair = [
            roles("lb1", &[("VI_1", Backup)]),
            roles("lb2", &[("VI_1", Fault)]),
        ];
        assert_eq!(
            alarms(&pair),
            vec![Alarm::NoMaster {
                instance: "VI_1".into()
            }]
        );
    }

    #[test]
    fn an_unreachable_director_counts_for_neither_alarm() {
        let unreachable = DirectorRoles {
            director: "lb1",
            instances: None,
        };
        let pair = [unreachable.clone(), roles("lb2", &[("VI_1", Master)])];
        assert_eq!(alarms(&pair), Vec::new());
        assert_eq!(alarms(&[unreachable]), Vec::new());
    }

    #[test]
    fn an_instance_only_one_director_runs_still_needs_its_master() {
        let pair = [
            roles("lb1", &[("VI_1", Master), ("VI_9", Backup)]),
            roles("lb2", &[("VI_1", Backup)]),
        ];
        assert_eq!(
            alarms(&pair),
            vec![Alarm::NoMaster {
                instance: "VI_9".into()
            }]
        );
    }
}
