//! The [`FundingApi`] port: the funding API's projects and the fundings that raise them; the
//! first time a goal is reached it publishes the goal achievement.

use super::{SimWorld, WorldState};
use crate::domain::{GoalAchievement, Project, ProjectLevels, Timestamp};
use crate::envelope::{Envelope, MessageKind};
use crate::money::Money;
use crate::ports::{FundingApi, FundingOutcome, PortError, PortResult};
use crate::topology;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingEntry {
    amount: i64,
    reversed: bool,
}

/// A project in the funding API's database, with the fundings that make up its amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingProject {
    pub project: Project,
    fundings: HashMap<String, FundingEntry>,
    /// Amount reversals took back out, ever (the API's `projects.reversed`).
    #[serde(default)]
    reversed: i64,
    /// Reversals applied, ever.
    #[serde(default)]
    reversals: u32,
}

impl WorldState {
    /// Ids of the projects whose goal was (or was not yet) reached.
    pub fn project_ids(&self, goal_reached: bool) -> Vec<String> {
        self.projects
            .values()
            .filter(|p| p.project.goal_achieved_at.is_some() == goal_reached)
            .map(|p| p.project.id.clone())
            .collect()
    }
}

impl SimWorld {
    /// Creates a project in the funding API's store (what `POST /projects` does).
    pub fn create_project(&self, id: &str, title: &str, goal: Money, deadline: Timestamp) {
        let mut s = self.lock();
        s.projects
            .entry(id.to_string())
            .or_insert_with(|| FundingProject {
                project: Project {
                    id: id.to_string(),
                    title: title.to_string(),
                    goal: goal.amount,
                    currency: goal.currency,
                    raised: 0,
                    backers: 0,
                    deadline,
                    goal_achieved_at: None,
                },
                fundings: HashMap::new(),
                reversed: 0,
                reversals: 0,
            });
    }

    pub fn project_list(&self) -> Vec<Project> {
        self.lock()
            .projects
            .values()
            .map(|p| p.project.clone())
            .collect()
    }
}

/// What the API answers an applied change: the project's levels right after it.
fn applied(p: &FundingProject) -> FundingOutcome {
    FundingOutcome::Applied {
        raised: p.project.raised,
        levels: Some(ProjectLevels {
            goal: p.project.goal,
            raised: p.project.raised,
            backers: p.project.backers,
            reversed: p.reversed,
            reversals: p.reversals,
        }),
    }
}

#[async_trait]
impl FundingApi for SimWorld {
    async fn raise(
        &self,
        project_id: &str,
        payment_id: &str,
        amount: Money,
        paid_at: Option<Timestamp>,
    ) -> PortResult<FundingOutcome> {
        let mut s = self.lock();
        if s.inject_failure(|c| c.funding_failure_rate) {
            return Err(PortError::unavailable(
                "crowdfund-api",
                "503 Service Unavailable (injected)",
            ));
        }
        let now = s.now;
        let p = s
            .projects
            .get_mut(project_id)
            .ok_or_else(|| PortError::not_found(format!("project {project_id}")))?;
        if amount.currency != p.project.currency {
            return Err(PortError::Rejected(format!(
                "project {project_id} is funded in {}, not {}",
                p.project.currency, amount.currency
            )));
        }
        if p.fundings.contains_key(payment_id) {
            return Ok(FundingOutcome::Duplicate {
                raised: p.project.raised,
            });
        }
        p.fundings.insert(
            payment_id.to_string(),
            FundingEntry {
                amount: amount.amount,
                reversed: false,
            },
        );
        p.project.raised += amount.amount;
        p.project.backers += 1;
        let raised = p.project.raised;
        let answer = applied(p);
        // The API records when the goal was first reached (the crossing payment's time) and
        // tells the broker, once.
        if p.project.goal_achieved_at.is_none() && raised >= p.project.goal {
            let achieved_at = paid_at.map_or(now, |t| t.min(now));
            p.project.goal_achieved_at = Some(achieved_at);
            let achievement = GoalAchievement {
                project_id: project_id.to_string(),
                achieved_at,
                second_check: false,
            };
            let body = Envelope::new(MessageKind::GoalAchievement, &achievement).to_json();
            s.publish(topology::TOPIC_GOAL_ACHIEVEMENT, &body)?;
        }
        Ok(answer)
    }

    async fn reverse(&self, project_id: &str, payment_id: &str) -> PortResult<FundingOutcome> {
        let mut s = self.lock();
        if s.inject_failure(|c| c.funding_failure_rate) {
            return Err(PortError::unavailable(
                "crowdfund-api",
                "503 Service Unavailable (injected)",
            ));
        }
        let p = s
            .projects
            .get_mut(project_id)
            .ok_or_else(|| PortError::not_found(format!("project {project_id}")))?;
        match p.fundings.get_mut(payment_id) {
            Some(entry) if entry.reversed => Ok(FundingOutcome::Duplicate {
                raised: p.project.raised,
            }),
            Some(entry) => {
                entry.reversed = true;
                p.project.raised -= entry.amount;
                p.project.backers = p.project.backers.saturating_sub(1);
                p.reversed += entry.amount;
                p.reversals += 1;
                Ok(applied(p))
            }
            None => {
                // The reversal overtook the raise: leave a tombstone so the late raise is a no-op.
                p.fundings.insert(
                    payment_id.to_string(),
                    FundingEntry {
                        amount: 0,
                        reversed: true,
                    },
                );
                Ok(applied(p))
            }
        }
    }

    async fn projects(&self) -> PortResult<Vec<Project>> {
        Ok(self.project_list())
    }
}
