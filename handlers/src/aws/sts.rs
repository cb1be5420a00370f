//! Who is acting: STS GetCallerIdentity, for the audit log of operator actions.

use super::port_error;
use crowdfund_core::ports::{PortError, PortResult};

/// The caller's ARN (a user, an assumed role session, ...) as STS reports it.
pub async fn caller_arn(client: &aws_sdk_sts::Client) -> PortResult<String> {
    let out = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| port_error("STS", "caller identity", e))?;
    out.arn()
        .map(str::to_string)
        .ok_or_else(|| PortError::unavailable("STS", "GetCallerIdentity gave no Arn"))
}
