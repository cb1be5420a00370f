//! crowdfund-api's HTTP routes as its clients call them, written once.
//!
//! The path templates, the builders clients format their URLs with, and [`CLIENT_ROUTES`]: which
//! client calls which route, and from where (the internet or the VPC). Where a request goes is
//! decided twice, by the ALB's listener rules (`terraform/modules/alb`) and by each role's router
//! in crowdfund-api; the api crate's route-table test holds both to this table, so a client whose
//! calls land on a role that does not serve them fails a test instead of a deployment.

/// The project list; creating a project (`POST`).
pub const PROJECTS: &str = "/projects";
/// One project and its progress.
pub const PROJECT: &str = "/projects/{id}";
/// A project's fundings: `POST` raises one.
pub const FUNDINGS: &str = "/projects/{id}/fundings";
/// One funding of a project, by its payment id: `DELETE` reverses it.
pub const FUNDING: &str = "/projects/{id}/fundings/{paymentId}";
/// Checkout: `POST` a payment attempt.
pub const PAYMENTS: &str = "/payments";
/// One payment's state in the ledger.
pub const PAYMENT: &str = "/payments/{id}";

/// The HTTP methods the routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Every method a route here may use, reads first.
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The name on the wire (and in an ALB `http_request_method` condition).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Changes state: only the read-write role may serve it.
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }
}

/// Where a client's request comes from, as the ALB sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Anywhere outside the VPC: browsers, the operator's laptop.
    Internet,
    /// The private subnets, leaving through the NAT gateways' addresses.
    Vpc,
}

/// One route a client calls: what, where, who and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRoute {
    pub method: Method,
    /// One of the path templates above.
    pub template: &'static str,
    /// Who calls it (and through what, where that is code here).
    pub client: &'static str,
    pub source: Source,
}

/// Every route a client of crowdfund-api uses. A route the API serves must be here (or be a
/// health check, which reaches tasks without passing the listener) for the route-table test to
/// pass.
pub const CLIENT_ROUTES: &[ClientRoute] = &[
    ClientRoute {
        method: Method::Post,
        template: FUNDINGS,
        client: "funding_update: raise (HttpFundingApi::raise)",
        source: Source::Vpc,
    },
    ClientRoute {
        method: Method::Delete,
        template: FUNDING,
        client: "funding_update: reversal (HttpFundingApi::reverse)",
        source: Source::Vpc,
    },
    ClientRoute {
        method: Method::Get,
        template: PROJECTS,
        client: "crowdfund-console: project list (HttpFundingApi::projects)",
        source: Source::Internet,
    },
    ClientRoute {
        method: Method::Get,
        template: PROJECT,
        client: "backers and owners: a project's progress",
        source: Source::Internet,
    },
    ClientRoute {
        method: Method::Post,
        template: PAYMENTS,
        client: "checkout: a backer's payment",
        source: Source::Internet,
    },
    ClientRoute {
        method: Method::Get,
        template: PAYMENT,
        client: "checkout: a payment's state",
        source: Source::Internet,
    },
    ClientRoute {
        method: Method::Post,
        template: PROJECTS,
        client: "admin tooling: project creation",
        source: Source::Vpc,
    },
];

/// `GET` lists projects, `POST` creates one.
pub fn projects_path() -> String {
    fill(PROJECTS, &[])
}

pub fn project_path(id: &str) -> String {
    fill(PROJECT, &[id])
}

pub fn fundings_path(project: &str) -> String {
    fill(FUNDINGS, &[project])
}

pub fn funding_path(project: &str, payment: &str) -> String {
    fill(FUNDING, &[project, payment])
}

pub fn payments_path() -> String {
    fill(PAYMENTS, &[])
}

pub fn payment_path(id: &str) -> String {
    fill(PAYMENT, &[id])
}

/// The template with its `{placeholder}` segments replaced, in order, by `values`, each escaped
/// so an id can never change the path's shape (`a/../b` stays one segment).
fn fill(template: &str, values: &[&str]) -> String {
    let mut values = values.iter();
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                // The builders above pass exactly one value per placeholder (unit-tested).
                values.next().map_or_else(String::new, |v| path_segment(v))
            } else {
                segment.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Ids are plain tokens; anything outside RFC 3986's unreserved characters is percent-encoded.
pub fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_fill_their_templates() {
        assert_eq!(projects_path(), "/projects");
        assert_eq!(project_path("prj-1"), "/projects/prj-1");
        assert_eq!(fundings_path("prj-1"), "/projects/prj-1/fundings");
        assert_eq!(
            funding_path("prj-1", "pay-2"),
            "/projects/prj-1/fundings/pay-2"
        );
        assert_eq!(payments_path(), "/payments");
        assert_eq!(payment_path("pay-2"), "/payments/pay-2");
    }

    #[test]
    fn ids_cannot_change_the_path() {
        assert_eq!(
            funding_path("prj-1/../x", "pay 2?a=b"),
            "/projects/prj-1%2F..%2Fx/fundings/pay%202%3Fa%3Db"
        );
        assert_eq!(path_segment("pay-1:a.b_c~"), "pay-1%3Aa.b_c~");
    }

    #[test]
    fn every_client_route_uses_a_template_here() {
        let templates = [PROJECTS, PROJECT, FUNDINGS, FUNDING, PAYMENTS, PAYMENT];
        for route in CLIENT_ROUTES {
            assert!(
                templates.contains(&route.template),
                "{} {} is not one of the templates",
                route.method.as_str(),
                route.template
            );
        }
    }
}
