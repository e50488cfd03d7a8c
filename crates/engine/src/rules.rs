//! The escalation matrix's lifecycle: drafts, activation, rollback, and the version in
//! force held in memory.
//!
//! Applying the matrix in force to a case's events is pure and lives in core
//! ([`ladder_core::matrix::apply`]): every write runs it inside its transaction, with the
//! customer and the teams read before, so the command's events, the rules' consequences
//! and the clock changes are appended together, each event naming the matrix version.

use std::sync::Arc;

use jiff::Timestamp;
use ladder_core::access;
use ladder_core::matrix::{self, CompiledMatrix, Diagnostic};
use ladder_store::{MatrixDraft, MatrixVersion, StoreError};

use crate::Engine;
use crate::budget::Overloaded;

// Callers of the engine (the HTTP API, the CLI, tests) name these through this module.
pub use ladder_core::matrix::apply::{ActiveMatrix, REPEAT_CONTACT_WINDOW};

/// Why a matrix was refused.
#[derive(Debug)]
pub enum MatrixError {
    /// The text has problems: every one, with its position.
    Invalid(Vec<Diagnostic>),
    Store(StoreError),
    /// No worker was free to check it, or checking it took longer than its budget.
    Overloaded(Overloaded),
}

impl From<StoreError> for MatrixError {
    fn from(e: StoreError) -> Self {
        MatrixError::Store(e)
    }
}

impl From<Overloaded> for MatrixError {
    fn from(e: Overloaded) -> Self {
        MatrixError::Overloaded(e)
    }
}

impl std::fmt::Display for MatrixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatrixError::Invalid(d) => write!(f, "the matrix has {} problem(s)", d.len()),
            MatrixError::Store(e) => write!(f, "{e}"),
            MatrixError::Overloaded(e) => write!(f, "{e}"),
        }
    }
}

impl Engine {
    /// The matrix in force, if any.
    pub fn active_matrix(&self) -> Option<Arc<ActiveMatrix>> {
        self.inner.matrix.read().expect("matrix lock").clone()
    }

    /// What `ladder matrix check` would say, with the teams that exist. Runs on a worker
    /// thread within the budget ([`crate::budget`]).
    pub async fn check_matrix(
        &self,
        principal: &access::Principal,
        source: &str,
        file: &str,
    ) -> Result<Vec<Diagnostic>, MatrixError> {
        self.check(principal, &access::Action::ReadMatrixDrafts)?;
        let directory = self.matrix_directory().await?;
        let (source, file) = (source.to_string(), file.to_string());
        let job = move || matrix::check(&source, &file, Some(&directory));
        Ok(self.inner.workers.run("matrix-check", job).await?)
    }

    /// The teams that exist, for checking the teams a matrix names.
    async fn matrix_directory(&self) -> Result<matrix::Directory, StoreError> {
        let teams = self.store.teams().await?;
        Ok(matrix::Directory { teams: teams.iter().map(|t| (t.slug.clone(), t.level.clone())).collect() })
    }

    /// Parses, lints and compiles on a worker thread; refuses on any error.
    pub(crate) async fn compile_checked(
        &self,
        source: &str,
        name: &str,
        version: u32,
    ) -> Result<ActiveMatrix, MatrixError> {
        let directory = self.matrix_directory().await?;
        let (source, name) = (source.to_string(), name.to_string());
        let job = move || compile_checked(&source, &name, version, Some(&directory));
        self.inner.workers.run("matrix-compile", job).await?
    }

    /// Stores a draft if it is valid; an invalid one is refused with every problem.
    pub async fn put_matrix_draft(
        &self,
        principal: &access::Principal,
        name: String,
        source: String,
        now: Timestamp,
    ) -> Result<(MatrixDraft, Vec<Diagnostic>), MatrixError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        let by = principal.name.clone();
        let diagnostics = self.check_matrix(principal, &source, &name).await?;
        if diagnostics.iter().any(Diagnostic::is_error) {
            return Err(MatrixError::Invalid(diagnostics));
        }
        let draft = self.store.put_matrix_draft(MatrixDraft { name, source, updated_by: by, updated_at: now }).await?;
        Ok((draft, diagnostics))
    }

    /// Deletes a saved draft.
    pub async fn delete_matrix_draft(&self, principal: &access::Principal, name: String) -> Result<(), StoreError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        self.store.delete_matrix_draft(name).await
    }

    /// Freezes a draft as the next version and puts it in force. An invalid draft (the
    /// directory may have changed since it was saved) is refused and the active matrix stays.
    pub async fn activate_matrix(
        &self,
        principal: &access::Principal,
        name: String,
        now: Timestamp,
    ) -> Result<MatrixVersion, MatrixError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        let by = principal.name.clone();
        let draft = self
            .store
            .matrix_draft(name.clone())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("matrix draft '{name}'")))?;
        let next = self.store.matrix_versions().await?.last().map_or(1, |v| v.version + 1);
        let compiled = self.compile_checked(&draft.source, &name, next).await?;
        let version = self.store.activate_matrix(name, draft.source, by, now).await?;
        self.put_in_force(compiled);
        Ok(version)
    }

    /// Puts an earlier version back in force (by default the one before the current).
    pub async fn rollback_matrix(
        &self,
        principal: &access::Principal,
        to: Option<u32>,
        now: Timestamp,
    ) -> Result<MatrixVersion, MatrixError> {
        self.check(principal, &access::Action::ChangeMatrix)?;
        let by = principal.name.clone();
        let target = match to {
            Some(v) => self
                .store
                .matrix_version(v)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("matrix version {v}")))?,
            None => {
                // Validate before switching: find what the store would pick.
                let active = self.store.active_matrix().await?.map(|v| v.version);
                let activations = self.store.matrix_activations().await?;
                let previous = activations.iter().rev().map(|a| a.version).find(|v| Some(*v) != active);
                let v =
                    previous.ok_or_else(|| StoreError::NotFound("an earlier matrix version to roll back to".into()))?;
                self.store
                    .matrix_version(v)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("matrix version {v}")))?
            }
        };
        let compiled = self.compile_checked(&target.source, &target.name, target.version).await?;
        let version = self.store.rollback_matrix(Some(target.version), by, now).await?;
        self.put_in_force(compiled);
        Ok(version)
    }

    /// Loads the active version from the store (at start-up). A stored version that no
    /// longer compiles (say, it is over a limit of a newer release) is reported and the
    /// server runs without rules rather than not at all.
    pub async fn load_matrix(&self) -> Result<(), StoreError> {
        // The risk model in force is loaded with the matrix: both are read once at start.
        self.load_risk_model().await?;
        let Some(version) = self.store.active_matrix().await? else { return Ok(()) };
        let number = version.version;
        let job = move || {
            let (parsed, _) = matrix::parse(&version.source, &version.name)
                .map_err(|d| format!("it does not parse ({} problems)", d.len()))?;
            let compiled = CompiledMatrix::compile(parsed, version.version).map_err(|d| match d.first() {
                Some(first) => format!("{} problems, the first: {}", d.len(), first.message),
                None => "it does not compile".to_string(),
            })?;
            ActiveMatrix::new(version.version, version.name, compiled)
        };
        match self.inner.workers.run("matrix-load", job).await {
            Ok(Ok(active)) => {
                self.put_in_force(active);
                tracing::info!(version = number, "escalation matrix in force");
            }
            Ok(Err(e)) => tracing::error!(
                version = number,
                error = %e,
                "the active matrix does not compile; running without rules"
            ),
            Err(e) => tracing::error!(
                version = number,
                error = %e,
                "the active matrix could not be compiled; running without rules"
            ),
        }
        Ok(())
    }

    fn put_in_force(&self, active: ActiveMatrix) {
        if let Some(ladder) = active.compiled.matrix().ladder() {
            *self.inner.ladder.write().expect("ladder lock") = Arc::new(ladder);
        }
        *self.inner.matrix.write().expect("matrix lock") = Some(Arc::new(active));
    }
}

/// Parses, lints and compiles a matrix (CPU-bound: callers run it on a worker).
fn compile_checked(
    source: &str,
    name: &str,
    version: u32,
    directory: Option<&matrix::Directory>,
) -> Result<ActiveMatrix, MatrixError> {
    let diagnostics = matrix::check(source, name, directory);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(MatrixError::Invalid(diagnostics));
    }
    let (parsed, _) = matrix::parse(source, name).map_err(MatrixError::Invalid)?;
    let compiled = CompiledMatrix::compile(parsed, version).map_err(MatrixError::Invalid)?;
    ActiveMatrix::new(version, name.to_string(), compiled).map_err(|message| {
        MatrixError::Invalid(vec![Diagnostic {
            severity: matrix::Severity::Error,
            file: name.to_string(),
            line: 0,
            column: 0,
            message,
            hint: None,
            path: "calendars".into(),
        }])
    })
}
