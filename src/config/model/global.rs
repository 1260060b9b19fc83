//! `global_defs`. (Being written.)

/// The `global_defs` block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GlobalDefs {
    pub other: Vec<super::RawSetting>,
}
