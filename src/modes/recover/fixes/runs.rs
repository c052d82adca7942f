//! New runs of the failed workflow: a re-run of the same commit, or a fresh
//! run on the branch head.

use super::{FixError, Fixed, Fixer};

impl Fixer<'_> {
    /// Transient failures: the same commit should pass, so re-run it.
    pub(super) fn rerun(&mut self) -> Fixed {
        self.trusted()?;
        if let Some(started) = &self.started {
            return Ok(format!("nothing more to start: {started}"));
        }
        let attempt = self.run.attempt();
        if attempt >= self.settings.max_attempts {
            return Err(FixError::MaxAttempts {
                attempt,
                run: self.run.id,
                max: self.settings.max_attempts,
            });
        }
        let what = format!(
            "re-run the failed jobs of run {} (attempt {} of {})",
            self.run.id,
            attempt + 1,
            self.settings.max_attempts
        );
        if let Some(plan) = self.would(what) {
            self.started = Some(plan.clone());
            return Ok(plan);
        }
        self.github.rerun_failed_jobs(self.run.id)?;
        let text = format!(
            "re-ran the failed jobs of run {} (attempt {} of {})",
            self.run.id,
            attempt + 1,
            self.settings.max_attempts
        );
        self.started = Some(text.clone());
        Ok(text)
    }

    /// A lost push race: a re-run would check out the same old commit and
    /// lose again, so start a new run of the workflow on the branch head,
    /// while fewer than `max-attempts` runs in a row have failed.
    pub(super) fn fresh_run(&mut self) -> Fixed {
        self.trusted()?;
        if let Some(started) = &self.started {
            return Ok(format!("nothing more to start: {started}"));
        }
        let workflow = self.run.workflow_ref().ok_or(FixError::NoWorkflow)?;
        let max = self.settings.max_attempts;
        let runs = self.github.workflow_runs(&workflow, self.branch, max + 1)?;
        let failed_in_a_row = runs
            .iter()
            .take_while(|r| r.conclusion.as_deref() == Some("failure"))
            .count()
            .max(1) as u64;
        if failed_in_a_row >= max {
            return Err(FixError::FailedInARow {
                failed: failed_in_a_row,
                workflow: self.run.workflow_name(),
                branch: self.branch.to_string(),
                max,
            });
        }
        let what = format!(
            "start a fresh run of {} on the head of {} (run {} of {max})",
            self.run.workflow_name(),
            self.branch,
            failed_in_a_row + 1
        );
        if let Some(plan) = self.would(what) {
            self.started = Some(plan.clone());
            return Ok(plan);
        }
        self.dispatch(&workflow)
    }

    /// Starts the workflow on the branch head with `workflow_dispatch`.
    pub(super) fn dispatch(&mut self, workflow: &str) -> Fixed {
        let name = self.run.workflow_name();
        match self.github.dispatch(workflow, self.branch) {
            Ok(true) => {
                let text = format!(
                    "started a fresh run of {name} on the head of {} (workflow_dispatch)",
                    self.branch
                );
                self.started = Some(text.clone());
                Ok(text)
            }
            Ok(false) => Err(FixError::NoDispatch {
                workflow: name,
                file: self
                    .run
                    .path
                    .as_deref()
                    .unwrap_or("the workflow file")
                    .to_string(),
            }),
            Err(source) => Err(FixError::DispatchFailed {
                workflow: name,
                branch: self.branch.to_string(),
                source: Box::new(source),
            }),
        }
    }
}
