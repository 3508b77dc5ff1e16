//! GitLab's predefined CI/CD variable names (`doc/ci/variables/predefined_variables.md`).
//!
//! A project, group or instance variable of the same name wins over GitLab's value (the
//! predefined variables are appended first, user variables after them: `Ci::Build#variables`),
//! so such a key silently replaces what GitLab sets. Three of them carry the job's own
//! credential: overriding those breaks authentication outright.

/// The names whose override replaces the job's credential (severity broken).
const CREDENTIALS: [&str; 3] = ["CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_REPOSITORY_URL"];

/// The other predefined names (severity fragile), including ones GitLab removed but older
/// runners and scripts still read (`CI_BUILD_TOKEN`, `CI_JOB_JWT*`). `CI_DEBUG_TRACE` and
/// `CI_DEBUG_SERVICES` are left out: GitLab's docs tell users to set them.
const NAMES: &[&str] = &[
    "CHAT_CHANNEL",
    "CHAT_INPUT",
    "CHAT_USER_ID",
    "CI",
    "CI_API_V4_URL",
    "CI_API_GRAPHQL_URL",
    "CI_BUILDS_DIR",
    "CI_BUILD_TOKEN",
    "CI_COMMIT_AUTHOR",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_DESCRIPTION",
    "CI_COMMIT_MESSAGE",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_REF_PROTECTED",
    "CI_COMMIT_REF_SLUG",
    "CI_COMMIT_SHA",
    "CI_COMMIT_SHORT_SHA",
    "CI_COMMIT_TAG",
    "CI_COMMIT_TAG_MESSAGE",
    "CI_COMMIT_TIMESTAMP",
    "CI_COMMIT_TITLE",
    "CI_CONCURRENT_ID",
    "CI_CONCURRENT_PROJECT_ID",
    "CI_CONFIG_PATH",
    "CI_DEFAULT_BRANCH",
    "CI_DEFAULT_BRANCH_NAME",
    "CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
    "CI_DEPENDENCY_PROXY_PASSWORD",
    "CI_DEPENDENCY_PROXY_SERVER",
    "CI_DEPENDENCY_PROXY_USER",
    "CI_DEPLOY_FREEZE",
    "CI_DEPLOY_PASSWORD",
    "CI_DEPLOY_USER",
    "CI_DISPOSABLE_ENVIRONMENT",
    "CI_ENVIRONMENT_NAME",
    "CI_ENVIRONMENT_SLUG",
    "CI_ENVIRONMENT_URL",
    "CI_ENVIRONMENT_ACTION",
    "CI_ENVIRONMENT_TIER",
    "CI_GITLAB_FIPS_MODE",
    "CI_HAS_OPEN_REQUIREMENTS",
    "CI_JOB_GROUP_NAME",
    "CI_JOB_ID",
    "CI_JOB_IMAGE",
    "CI_JOB_JWT",
    "CI_JOB_JWT_V1",
    "CI_JOB_JWT_V2",
    "CI_JOB_MANUAL",
    "CI_JOB_NAME",
    "CI_JOB_NAME_SLUG",
    "CI_JOB_STAGE",
    "CI_JOB_STATUS",
    "CI_JOB_TIMEOUT",
    "CI_JOB_STARTED_AT",
    "CI_JOB_URL",
    "CI_KUBERNETES_ACTIVE",
    "CI_NODE_INDEX",
    "CI_NODE_TOTAL",
    "CI_OPEN_MERGE_REQUESTS",
    "CI_PAGES_DOMAIN",
    "CI_PAGES_HOSTNAME",
    "CI_PAGES_URL",
    "CI_PIPELINE_ID",
    "CI_PIPELINE_IID",
    "CI_PIPELINE_SOURCE",
    "CI_PIPELINE_TRIGGERED",
    "CI_PIPELINE_URL",
    "CI_PIPELINE_CREATED_AT",
    "CI_PIPELINE_NAME",
    "CI_PIPELINE_SCHEDULE_DESCRIPTION",
    "CI_PROJECT_DIR",
    "CI_PROJECT_ID",
    "CI_PROJECT_NAME",
    "CI_PROJECT_NAMESPACE",
    "CI_PROJECT_NAMESPACE_ID",
    "CI_PROJECT_NAMESPACE_SLUG",
    "CI_PROJECT_PATH_SLUG",
    "CI_PROJECT_PATH",
    "CI_PROJECT_REPOSITORY_LANGUAGES",
    "CI_PROJECT_ROOT_NAMESPACE",
    "CI_PROJECT_TITLE",
    "CI_PROJECT_DESCRIPTION",
    "CI_PROJECT_URL",
    "CI_PROJECT_VISIBILITY",
    "CI_PROJECT_CLASSIFICATION_LABEL",
    "CI_REGISTRY",
    "CI_REGISTRY_IMAGE",
    "CI_REGISTRY_USER",
    "CI_RELEASE_DESCRIPTION",
    "CI_REPOSITORY_MIRROR",
    "CI_RUNNER_DESCRIPTION",
    "CI_RUNNER_EXECUTABLE_ARCH",
    "CI_RUNNER_ID",
    "CI_RUNNER_REVISION",
    "CI_RUNNER_SHORT_TOKEN",
    "CI_RUNNER_TAGS",
    "CI_RUNNER_VERSION",
    "CI_SERVER_FQDN",
    "CI_SERVER_HOST",
    "CI_SERVER_NAME",
    "CI_SERVER_PORT",
    "CI_SERVER_PROTOCOL",
    "CI_SERVER_SHELL_SSH_HOST",
    "CI_SERVER_SHELL_SSH_PORT",
    "CI_SERVER_REVISION",
    "CI_SERVER_TLS_CA_FILE",
    "CI_SERVER_TLS_CERT_FILE",
    "CI_SERVER_TLS_KEY_FILE",
    "CI_SERVER_URL",
    "CI_SERVER_VERSION",
    "CI_SERVER_VERSION_MAJOR",
    "CI_SERVER_VERSION_MINOR",
    "CI_SERVER_VERSION_PATCH",
    "CI_SERVER",
    "CI_SHARED_ENVIRONMENT",
    "CI_TEMPLATE_REGISTRY_HOST",
    "CI_TRIGGER_SHORT_TOKEN",
    "CI_MERGE_REQUEST_APPROVED",
    "CI_MERGE_REQUEST_ASSIGNEES",
    "CI_MERGE_REQUEST_ID",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_LABELS",
    "CI_MERGE_REQUEST_MILESTONE",
    "CI_MERGE_REQUEST_PROJECT_ID",
    "CI_MERGE_REQUEST_PROJECT_PATH",
    "CI_MERGE_REQUEST_PROJECT_URL",
    "CI_MERGE_REQUEST_REF_PATH",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH",
    "CI_MERGE_REQUEST_SOURCE_PROJECT_URL",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_MERGE_REQUEST_TARGET_BRANCH_PROTECTED",
    "CI_MERGE_REQUEST_TARGET_BRANCH_SHA",
    "CI_MERGE_REQUEST_TITLE",
    "CI_MERGE_REQUEST_EVENT_TYPE",
    "CI_MERGE_REQUEST_DIFF_ID",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_DRAFT",
    "CI_EXTERNAL_PULL_REQUEST_IID",
    "CI_EXTERNAL_PULL_REQUEST_SOURCE_REPOSITORY",
    "CI_EXTERNAL_PULL_REQUEST_TARGET_REPOSITORY",
    "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
    "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA",
    "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME",
    "CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_SHA",
    "GITLAB_CI",
    "GITLAB_FEATURES",
    "GITLAB_USER_EMAIL",
    "GITLAB_USER_ID",
    "GITLAB_USER_LOGIN",
    "GITLAB_USER_NAME",
    "GITLAB_ENV",
    "KUBECONFIG",
    "TRIGGER_PAYLOAD",
];

/// `Some(true)` for a name whose override replaces the job's credential, `Some(false)` for
/// another predefined name, `None` for a name of the user's own.
pub fn overrides(key: &str) -> Option<bool> {
    if CREDENTIALS.contains(&key) {
        Some(true)
    } else {
        NAMES.contains(&key).then_some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_broken_others_fragile() {
        assert_eq!(overrides("CI_JOB_TOKEN"), Some(true));
        assert_eq!(overrides("CI_REPOSITORY_URL"), Some(true));
        assert_eq!(overrides("CI_SERVER_URL"), Some(false));
        assert_eq!(overrides("GITLAB_TOKEN"), None);
        assert_eq!(overrides("ci_job_token"), None, "keys are case-sensitive");
        assert_eq!(
            overrides("CI_DEBUG_TRACE"),
            None,
            "users are told to set it"
        );
    }
}
