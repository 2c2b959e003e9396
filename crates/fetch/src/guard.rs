//! The private-address guard: no request goes to loopback, private, link-local or other
//! non-public addresses, by a URL's host, a redirect or a name's DNS answer, except to the
//! networks and hosts `[fetch] allow_private_networks` names (or all, with `true`). It does
//! not decide anything about public addresses.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use url::Url;

/// Which private destinations requests may reach (`allow_private_networks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Written", into = "Written")]
pub enum PrivateNetworks {
    /// None (`false`, or an empty list): the default.
    #[default]
    None,
    /// Every one (`true`): for tests and a crawler inside a trusted network.
    All,
    /// Those listed: networks (`"10.20.0.0/16"`), addresses (`"192.168.1.5"`) and host names
    /// (`"intranet.example"`, `"localhost"`), a name reaching whatever it resolves to.
    Only {
        /// Networks and single addresses.
        networks: Vec<IpNet>,
        /// Host names, lower-cased.
        hosts: Vec<String>,
    },
}

/// How the setting is written: `true`, `false` or a list.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Written {
    All(bool),
    Only(Vec<String>),
}

impl TryFrom<Written> for PrivateNetworks {
    type Error = String;

    fn try_from(written: Written) -> Result<Self, String> {
        let list = match written {
            Written::All(true) => return Ok(PrivateNetworks::All),
            Written::All(false) => return Ok(PrivateNetworks::None),
            Written::Only(list) => list,
        };
        let (mut networks, mut hosts) = (Vec::new(), Vec::new());
        for entry in list {
            let entry = entry.trim();
            if let Ok(net) = IpNet::from_str(entry) {
                networks.push(net);
            } else if let Ok(ip) = IpAddr::from_str(entry) {
                networks.push(IpNet::from(ip));
            } else if url::Host::parse(entry).is_ok_and(|h| matches!(h, url::Host::Domain(_)))
                && !entry.contains('/')
            {
                hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{entry:?} is neither a network (10.0.0.0/8), an address nor a host name"
                ));
            }
        }
        Ok(if networks.is_empty() && hosts.is_empty() {
            PrivateNetworks::None
        } else {
            PrivateNetworks::Only { networks, hosts }
        })
    }
}

impl From<PrivateNetworks> for Written {
    fn from(allowed: PrivateNetworks) -> Written {
        match allowed {
            PrivateNetworks::None => Written::All(false),
            PrivateNetworks::All => Written::All(true),
            PrivateNetworks::Only { networks, hosts } => Written::Only(
                networks
                    .iter()
                    .map(ToString::to_string)
                    .chain(hosts)
                    .collect(),
            ),
        }
    }
}

impl From<bool> for PrivateNetworks {
    fn from(all: bool) -> Self {
        if all {
            PrivateNetworks::All
        } else {
            PrivateNetworks::None
        }
    }
}

impl PrivateNetworks {
    /// Whether a private `ip` may be reached.
    fn allows_address(&self, ip: IpAddr) -> bool {
        match self {
            PrivateNetworks::None => false,
            PrivateNetworks::All => true,
            PrivateNetworks::Only { networks, .. } => networks.iter().any(|n| n.contains(&ip)),
        }
    }

    /// Whether the host `name` may reach private addresses.
    fn allows_host(&self, name: &str) -> bool {
        match self {
            PrivateNetworks::None => false,
            PrivateNetworks::All => true,
            PrivateNetworks::Only { hosts, .. } => {
                hosts.iter().any(|h| h.eq_ignore_ascii_case(name))
            }
        }
    }
}

/// Whether an address is loopback, private, link-local, unspecified or otherwise not public.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0 // "this network"
                || a >= 224 // multicast and reserved
                || a == 100 && (64..128).contains(&b) // CGNAT
                || a == 198 && (18..20).contains(&b) // benchmarking
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            // An IPv4 address inside an IPv6 one: mapped (::ffff:a.b.c.d), compatible
            // (::a.b.c.d, deprecated but still routed to the IPv4 host) or NAT64
            // (64:ff9b::a.b.c.d).
            let embedded = v6.to_ipv4_mapped().or_else(|| {
                let compatible = segments[..6].iter().all(|&s| s == 0) && !v6.is_loopback();
                let nat64 = segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
                (compatible || nat64).then(|| {
                    let [.., a, b, c, d] = v6.octets();
                    std::net::Ipv4Addr::new(a, b, c, d)
                })
            });
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || embedded.is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Refuses URLs whose host is a private address or a local name, unless allowed.
pub(crate) fn check_target(url: &Url, allowed: &PrivateNetworks) -> Result<(), String> {
    let private = |ip: IpAddr| is_private(ip) && !allowed.allows_address(ip);
    match url.host() {
        Some(url::Host::Ipv4(ip)) if private(IpAddr::V4(ip)) => {
            Err(format!("{ip} is a private address"))
        }
        Some(url::Host::Ipv6(ip)) if private(IpAddr::V6(ip)) => {
            Err(format!("{ip} is a private address"))
        }
        Some(url::Host::Domain(name))
            if (name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost"))
                && !allowed.allows_host(name) =>
        {
            Err(format!("{name} is a local name"))
        }
        None => Err("no host".into()),
        _ => Ok(()),
    }
}

/// A DNS resolver that drops private addresses (but those allowed, and any address of an
/// allowed host), so a public name that resolves to one, or a redirect to such a name,
/// cannot reach the local network.
pub(crate) struct GuardedResolver {
    /// What may be reached all the same.
    pub(crate) allowed: PrivateNetworks,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = Arc::new(self.allowed.clone());
        Box::pin(async move {
            let host = name.as_str().to_string();
            let whole_host = allowed.allows_host(&host);
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| whole_host || !is_private(a.ip()) || allowed.allows_address(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves only to private addresses").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "0.1.2.3",
            "224.0.0.1",
            "198.18.0.1",
            "ff02::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2a00:1450::1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    fn allowed(toml_value: &str) -> Result<PrivateNetworks, String> {
        #[derive(Deserialize)]
        struct Setting {
            allow: PrivateNetworks,
        }
        toml::from_str::<Setting>(&format!("allow = {toml_value}"))
            .map(|s| s.allow)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn only_the_networks_and_hosts_listed_are_reached() {
        let only =
            allowed(r#"["10.20.0.0/16", "192.168.1.5", "Intranet.example", "localhost"]"#).unwrap();
        let target = |url: &str| check_target(&Url::parse(url).unwrap(), &only);
        assert!(target("http://10.20.3.4/feed").is_ok());
        assert!(target("http://192.168.1.5/").is_ok());
        assert!(target("http://localhost:8080/").is_ok());
        assert!(target("http://example.org/").is_ok());
        let refused = target("http://10.0.0.1/").unwrap_err();
        assert!(
            refused.contains("10.0.0.1 is a private address"),
            "{refused}"
        );
        assert!(target("http://192.168.1.6/").is_err());
        assert!(target("http://[::1]/").is_err());
        assert!(
            check_target(
                &Url::parse("http://10.0.0.1/").unwrap(),
                &allowed("true").unwrap()
            )
            .is_ok()
        );
        assert!(
            check_target(
                &Url::parse("http://10.0.0.1/").unwrap(),
                &allowed("false").unwrap()
            )
            .is_err()
        );
        assert_eq!(allowed("[]").unwrap(), PrivateNetworks::None);
        let bad = allowed(r#"["10.0.0.0/33"]"#).unwrap_err();
        assert!(bad.contains("neither a network"), "{bad}");
    }

    #[tokio::test]
    async fn names_resolve_to_private_addresses_only_when_allowed() {
        let resolve = |allowed: PrivateNetworks| async move {
            let name: reqwest::dns::Name = "localhost".parse().unwrap();
            GuardedResolver { allowed }
                .resolve(name)
                .await
                .map(|a| a.count())
        };
        let err = resolve(PrivateNetworks::None)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("private addresses"), "{err}");
        let by_name = allowed(r#"["localhost"]"#).unwrap();
        assert!(resolve(by_name).await.unwrap() > 0);
        let by_network = allowed(r#"["127.0.0.0/8", "::1/128"]"#).unwrap();
        assert!(resolve(by_network).await.unwrap() > 0);
        let elsewhere = allowed(r#"["10.0.0.0/8"]"#).unwrap();
        assert!(resolve(elsewhere).await.is_err());
    }
}
