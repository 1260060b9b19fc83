//! The alarm over a pair (or a fleet) of directors: each VRRP instance
//! must be MASTER on exactly one of the directors that answer. Two MASTERs
//! is a split brain (both own the VIPs); none means nobody serves them.
//! One instance on several directors is the same VRID with the same VIPs
//! (a fleet of pairs may call every pair's instance `VI_1`).
//! Pure: roles in, alarms out.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::northbound::VrrpState;

/// What one director says about its instances; `None` when it does not
/// answer (it then counts for neither alarm).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorRoles<'a> {
    pub director: &'a str,
    pub instances: Option<Vec<InstanceRole<'a>>>,
}

/// One VRRP instance's role on one director.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRole<'a> {
    pub name: &'a str,
    pub vrid: u8,
    pub vips: &'a [IpAddr],
    pub state: VrrpState,
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
            Alarm::SplitBrain { instance, masters } => {
                let (last, rest) = masters
                    .split_last()
                    .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
                if rest.is_empty() {
                    write!(f, "SPLIT BRAIN: {instance} is MASTER on {last}")
                } else {
                    write!(
                        f,
                        "SPLIT BRAIN: {instance} is MASTER on {} and {last}",
                        rest.join(", ")
                    )
                }
            }
            Alarm::NoMaster { instance } => {
                write!(f, "NO MASTER: {instance} is MASTER on no director")
            }
        }
    }
}

/// What makes instances on several directors one: VRID and sorted VIPs.
type InstanceKey = (u8, Vec<IpAddr>);

/// Every alarm, by instance name.
pub fn alarms(directors: &[DirectorRoles<'_>]) -> Vec<Alarm> {
    // The instance's name, and the directors where it is MASTER.
    let mut masters: BTreeMap<InstanceKey, (&str, Vec<String>)> = BTreeMap::new();
    for director in directors {
        for role in director.instances.iter().flatten() {
            let mut vips = role.vips.to_vec();
            vips.sort_unstable();
            let entry = masters
                .entry((role.vrid, vips))
                .or_insert_with(|| (role.name, Vec::new()));
            if role.state == VrrpState::Master {
                entry.1.push(director.director.to_string());
            }
        }
    }
    let mut by_name: Vec<(&str, Vec<String>)> = masters.into_values().collect();
    by_name.sort_by(|a, b| a.0.cmp(b.0));
    by_name
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
    use VrrpState::{Backup, Fault, Master};

    const VIPS: [IpAddr; 2] = [
        IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 88)),
        IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 89)),
    ];

    /// `VI_N` runs VRID 50 + N with a VIP of its own.
    fn roles<'a>(director: &'a str, instances: &[(&'a str, VrrpState)]) -> DirectorRoles<'a> {
        DirectorRoles {
            director,
            instances: Some(
                instances
                    .iter()
                    .map(|(name, state)| {
                        let n = name.trim_start_matches("VI_").parse::<usize>().unwrap_or(0);
                        InstanceRole {
                            name,
                            vrid: 50 + n as u8,
                            vips: &VIPS[n % 2..n % 2 + 1],
                            state: *state,
                        }
                    })
                    .collect(),
            ),
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
    fn pairs_that_name_their_instances_alike_are_told_apart_by_vrid_and_vips() {
        let vip_a = [VIPS[0]];
        let vip_b = [VIPS[1]];
        let role = |vips, state| InstanceRole {
            name: "VI_1",
            vrid: 51,
            vips,
            state,
        };
        let fleet = [
            DirectorRoles {
                director: "a1",
                instances: Some(vec![role(&vip_a[..], Master)]),
            },
            DirectorRoles {
                director: "b1",
                instances: Some(vec![role(&vip_b[..], Master)]),
            },
        ];
        assert_eq!(alarms(&fleet), Vec::new());
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
