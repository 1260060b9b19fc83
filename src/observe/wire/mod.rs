//! VRRP as seen on the wire, for directors lvstop does not run: a passive
//! listener of IP protocol 112 and the tracker that makes sense of what it
//! hears (who is master of each virtual router, split brain, a silent
//! master, priority changes, adverts that disagree with the configuration).
//!
//! This module never sends a packet of any kind; it only listens.
//!
//! - `machine`: the sans-I/O tracker (adverts and time in, report out).
//! - `decode`: a received frame and its link facts → an observed advert.
//! - `listener`: the AF_PACKET socket and the task feeding the tracker.
//! - `report`: the serialisable report the console shows.

mod decode;
mod listener;
mod machine;
mod report;

pub use decode::{decode_frame, DecodeError, LinkInfo};
pub use listener::{WireError, WireWatch};
pub use machine::{
    Expected, ObservedAdvert, Tracker, ALARM_MEMORY_MS, FORGET_UNEXPECTED_MS, MAX_ROUTERS,
    MAX_SPEAKERS,
};
pub use report::{Family, LiveMaster, RouterKey, RouterSeen, SpeakerSeen, WireAlarm, WireReport};
