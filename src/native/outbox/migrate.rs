//! The embedded, versioned migrations of both SQL backends as an sqlx `MigrationSource`:
//! each backend lists its own SQL files; this turns such a list into a `Migrator`.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use super::OutboxError;

/// (version, description, SQL), in version order.
pub(crate) type Versions = &'static [(i64, &'static str, &'static str)];

/// The migrations of one backend, up to a version (all when `None`; fewer only for the
/// upgrade tests).
#[derive(Debug)]
struct Embedded {
    migrations: Versions,
    upto: Option<i64>,
}

/// The boxed future type sqlx's `MigrationSource` returns.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> BoxFuture<'static, Result<Vec<Migration>, Box<dyn std::error::Error + Send + Sync>>> {
        let upto = self.upto.unwrap_or(i64::MAX);
        let migrations = self.migrations;
        Box::pin(async move {
            Ok(migrations
                .iter()
                .filter(|(v, _, _)| *v <= upto)
                .map(|&(v, d, sql)| {
                    Migration::new(
                        v,
                        Cow::Borrowed(d),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// A migrator over `migrations` (up to `upto`); sqlx records what ran in
/// `_sqlx_migrations` with a checksum.
pub(crate) async fn migrator(
    migrations: Versions,
    upto: Option<i64>,
) -> Result<Migrator, OutboxError> {
    Migrator::new(Embedded { migrations, upto })
        .await
        .map_err(|e| OutboxError::db("reading the embedded migrations", e))
}
