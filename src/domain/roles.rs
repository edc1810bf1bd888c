//! Who may do what: roles in a territory and roles over the whole instance.

use std::fmt;

/// A role within one territory, ordered by power: a coordinator can do all a
/// partner can, a partner all a member can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Member of a body (working group…): sees its workspace.
    Member,
    /// Action lead, mediator, association: edits what is assigned to them.
    Partner,
    /// Runs the contract and the territory's site.
    Coordinator,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Coordinator, Role::Partner, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Partner => "partner",
            Role::Coordinator => "coordinator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "partner" => Some(Role::Partner),
            "coordinator" => Some(Role::Coordinator),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "Membre",
            Role::Partner => "Partenaire",
            Role::Coordinator => "Coordination",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role over every territory of the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceRole {
    None,
    /// ARS and resource-centre staff: read every territory, change nothing.
    Regional,
    /// Runs the instance: creates territories, may do everything.
    Admin,
}

impl InstanceRole {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceRole::None => "none",
            InstanceRole::Regional => "regional",
            InstanceRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<InstanceRole> {
        match s {
            "none" => Some(InstanceRole::None),
            "regional" => Some(InstanceRole::Regional),
            "admin" => Some(InstanceRole::Admin),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            InstanceRole::None => "Aucun",
            InstanceRole::Regional => "Niveau régional (lecture)",
            InstanceRole::Admin => "Administration",
        }
    }
}
