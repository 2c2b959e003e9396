//! The gazetteer (`config/gazetteer.toml`): the people, places and organisations of the
//! domain, each with one id and its names in English, Russian and Japanese, so that
//! `Лавров`, `ラブロフ` and `Lavrov` are found as one person, and `択捉`, `Итуруп`, `Iturup`
//! and `Etorofu` as one island. An entity of one side (a Russian minister) also counts as a
//! mention of that side.
//!
//! Names are matched like taxonomy terms (see [`crate::taxonomy`]): by stems, acronyms as
//! written, Japanese as substrings, and a word ending in `*` as a prefix of the lower-cased
//! word, for Russian surnames whose inflected forms stem differently (`Лавров*`).

use std::path::Path;

use serde::Deserialize;

use crate::TagError;

/// What kind of thing an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    /// A person.
    Person,
    /// A place: an island, a region, a city.
    Place,
    /// A government body, a company, an armed force.
    Organisation,
}

impl EntityKind {
    /// The kind's name as written in the gazetteer.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Person => "person",
            EntityKind::Place => "place",
            EntityKind::Organisation => "organisation",
        }
    }
}

/// One entity and its names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityDef {
    /// Stable id (`lavrov`, `iturup`).
    pub id: String,
    /// The name shown to readers (English).
    pub name: String,
    /// Person, place or organisation.
    pub kind: EntityKind,
    /// `russia` or `japan` when the entity belongs to one side: its mention counts as the
    /// side's.
    #[serde(default)]
    pub side: Option<String>,
    /// English names and spellings.
    #[serde(default)]
    pub en: Vec<String>,
    /// Russian names (`*` marks a prefix).
    #[serde(default)]
    pub ru: Vec<String>,
    /// Japanese names.
    #[serde(default)]
    pub ja: Vec<String>,
    /// A third country or body (China, the United States): naming it says what else a text
    /// is about, and is no evidence that it concerns the relation (see
    /// [`crate::taxonomy::Matcher::is_evidence`]). Default false.
    #[serde(default)]
    pub third_party: bool,
}

impl EntityDef {
    /// Every name in every language.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.en.iter().chain(&self.ru).chain(&self.ja)
    }
}

/// The whole gazetteer file: a list of `[[entity]]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gazetteer {
    /// The entities.
    #[serde(default)]
    pub entity: Vec<EntityDef>,
}

impl Gazetteer {
    /// Reads a gazetteer from a TOML file.
    pub fn load(path: &Path) -> Result<Self, TagError> {
        crate::load_file(path, Self::parse, |path, message| TagError::Gazetteer {
            path,
            message,
        })
    }

    /// Parses a gazetteer from TOML text: ids must be unique, sides `russia` or `japan`,
    /// and every entity needs a name.
    pub fn parse(text: &str) -> Result<Self, String> {
        let gazetteer: Gazetteer = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut ids = std::collections::HashSet::new();
        for entity in &gazetteer.entity {
            if !ids.insert(entity.id.as_str()) {
                return Err(format!("entity id {:?} appears twice", entity.id));
            }
            if let Some(side) = &entity.side
                && side != "russia"
                && side != "japan"
            {
                return Err(format!(
                    "entity {:?}: side must be \"russia\" or \"japan\", not {side:?}",
                    entity.id
                ));
            }
            if entity.names().next().is_none() {
                return Err(format!("entity {:?} has no names", entity.id));
            }
        }
        Ok(gazetteer)
    }

    /// The entity with this id.
    pub fn get(&self, id: &str) -> Option<&EntityDef> {
        self.entity.iter().find(|e| e.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_gazetteers_name_the_problem() {
        let twice = "[[entity]]\nid='a'\nname='A'\nkind='person'\nen=['A']\n\
                     [[entity]]\nid='a'\nname='A'\nkind='person'\nen=['B']";
        assert!(Gazetteer::parse(twice).unwrap_err().contains("twice"));
        let side = "[[entity]]\nid='a'\nname='A'\nkind='person'\nside='china'\nen=['A']";
        assert!(Gazetteer::parse(side).unwrap_err().contains("side"));
        let kind = "[[entity]]\nid='a'\nname='A'\nkind='ship'\nen=['A']";
        assert!(Gazetteer::parse(kind).unwrap_err().contains("ship"));
    }
}
