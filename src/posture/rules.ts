import type { Rule } from './finding.js';

/**
 * Every rule `parapet posture` can report, by control. Severities say what an attacker gains: CRITICAL,
 * anyone on the network reads or writes everything; HIGH, a likely path to that; MEDIUM, a weakness that
 * needs another one; LOW, hardening; INFO, facts a reviewer signs off (who the super users are).
 */
const rule = (id: string, control: Rule['control'], severity: Rule['severity'], title: string, fix: string): Rule => ({ id: `PARAPET-${id}`, control, severity, title, fix });

export const RULES = {
  // Listeners: what the network sees before any login (controls 1, 2, 3).
  plaintextListener: rule('LISTENER-PLAINTEXT', 2, 'CRITICAL', 'a listener speaks Kafka without TLS', 'serve TLS on every listener (Parapet: listener.protocol SASL_SSL, the default; Kafka: SASL_SSL listeners)'),
  anonymousAccess: rule('LISTENER-ANONYMOUS', 1, 'CRITICAL', 'a client without credentials is served (Metadata answered)', 'require SASL or a client certificate on every listener (Parapet: remove allowInsecureAnonymous; Kafka: SASL_SSL, or ssl.client.auth=required)'),
  unreachable: rule('LISTENER-UNREACHABLE', 3, 'INFO', 'a broker could not be probed', 'check the address and that this host may connect; the other checks ran on what answered'),
  oldTls: rule('TLS-OLD-VERSION', 2, 'HIGH', 'TLS 1.0 or 1.1 is accepted', 'accept TLS 1.2 and 1.3 only (Parapet does by default; Kafka: ssl.enabled.protocols=TLSv1.2,TLSv1.3)'),
  noTls13: rule('TLS-NO-1.3', 2, 'LOW', 'TLS 1.3 is not offered', 'enable TLS 1.3 (Kafka: ssl.enabled.protocols includes TLSv1.3; Java 11+)'),
  weakCipher: rule('TLS-WEAK-CIPHER', 2, 'MEDIUM', 'cipher suites without forward secrecy or with CBC and SHA-1 are accepted', 'allow only ECDHE suites with AES-GCM or ChaCha20-Poly1305 (Kafka: ssl.cipher.suites)'),
  certExpired: rule('TLS-CERT-EXPIRED', 2, 'CRITICAL', 'the server certificate has expired (or is not yet valid)', 'issue a new certificate (Parapet: `parapet tls rotate`, docs/security/tls.md) and let the broker reload it'),
  certExpiring: rule('TLS-CERT-EXPIRING', 2, 'MEDIUM', 'the server certificate expires soon', 'renew it before it expires (Parapet reloads certificate files without a restart)'),
  hostnameMismatch: rule('TLS-HOSTNAME-MISMATCH', 2, 'HIGH', 'the server certificate does not name the address clients connect to', 'issue the certificate with that DNS name or IP address in its subjectAltName; clients that verify names refuse it'),
  selfSigned: rule('TLS-SELF-SIGNED', 2, 'MEDIUM', 'the server certificate is self-signed (no CA)', 'sign server certificates with a CA whose certificate clients pin (parapet init makes one)'),
  untrusted: rule('TLS-UNTRUSTED', 2, 'HIGH', 'the certificate chain does not verify against the CA given or the system CAs', 'give clients the CA that signed it (ssl.ca.location), or fix the chain the broker sends'),
  privateCa: rule('TLS-PRIVATE-CA', 2, 'INFO', 'the certificate chain verifies with the CA of the client config, not with public CAs', 'expected for a private CA: keep its key offline and its certificate in every client config'),
  plainWithoutTls: rule('SASL-PLAIN-WITHOUT-TLS', 1, 'CRITICAL', 'SASL/PLAIN is offered on a listener without TLS: passwords cross the network in clear', 'offer PLAIN only over TLS, or use SCRAM'),
  noScram: rule('SASL-NO-SCRAM', 1, 'LOW', 'no SCRAM mechanism is offered', 'offer SCRAM-SHA-512 (a password never crosses the wire, even to the broker)'),
  // Authorization (controls 1 and 7).
  noAuthorizer: rule('AUTHZ-DISABLED', 1, 'CRITICAL', 'no authorizer: every authenticated client may do everything', 'enable ACLs (Kafka: authorizer.class.name, allow.everyone.if.no.acl.found=false; Parapet always has them)'),
  allowEveryone: rule('AUTHZ-ALLOW-EVERYONE', 1, 'CRITICAL', 'allow.everyone.if.no.acl.found=true: a resource without ACLs is open to all', 'set allow.everyone.if.no.acl.found=false and grant what each principal needs'),
  wildcardPrincipal: rule('ACL-WILDCARD-PRINCIPAL', 7, 'HIGH', 'an ACL allows every principal (User:*)', 'grant to named principals; `parapet acl advise` proposes the smallest set from observed access'),
  allOperations: rule('ACL-ALL-OPERATIONS', 7, 'MEDIUM', 'an ACL allows ALL operations', 'grant the operations used (READ, WRITE, DESCRIBE …), not ALL'),
  wildcardResource: rule('ACL-WILDCARD-RESOURCE', 7, 'MEDIUM', 'an ACL allows every topic or group (resource name *)', 'grant named or prefixed resources'),
  internalWrite: rule('ACL-INTERNAL-WRITE', 7, 'HIGH', 'an ACL lets a principal write, alter or delete internal topics (__*)', 'remove it: internal topics (offsets, audit) are the broker\'s'),
  superUsers: rule('ACL-SUPER-USERS', 7, 'INFO', 'super users bypass every ACL', 'keep the list to the operators; review it with each access review'),
  unknownPrincipal: rule('ACL-UNKNOWN-USER', 7, 'LOW', 'ACLs name a user that has no SCRAM credentials', 'delete the bindings of users that no longer exist (a new user of that name would inherit them)'),
  userWithoutAcls: rule('USER-NO-ACLS', 7, 'INFO', 'a user has credentials but no ACL binding (it can log in and do nothing)', 'delete unused accounts'),
  aclsUnavailable: rule('ACL-REVIEW-UNAVAILABLE', 7, 'INFO', 'ACLs could not be reviewed', 'scan with a client config whose principal may DESCRIBE the cluster'),
  // Credentials (control 1).
  lowIterations: rule('SCRAM-LOW-ITERATIONS', 1, 'HIGH', 'SCRAM credentials with fewer iterations than the minimum', 'set the password again with at least 4096 iterations (RFC 7677; Parapet: `parapet user passwd`)'),
  credentialsUnavailable: rule('SCRAM-REVIEW-UNAVAILABLE', 1, 'INFO', 'SCRAM credentials could not be reviewed', 'scan with a client config whose principal may DESCRIBE the cluster'),
  // Password age: LOW, not higher. NIST SP 800-63B (5.1.1.2) advises against forced periodic changes
  // without a sign of compromise (they breed weaker, predictable passwords); but a password set long
  // ago has had time to be copied into scripts, tickets and former staff's notes, and many policies
  // (PCI DSS 8.3.9) still set a maximum age. So: hardening, measured against the policy given.
  passwordOld: rule('PASSWORD-OLD', 1, 'LOW', 'a SCRAM password is older than the password policy (--password-max-age-days)', 'change it (`parapet user passwd NAME --generate`) and hand the new client settings over; LOW: an old password is not weak by itself (NIST SP 800-63B advises change on suspicion of compromise, not on a timer), set the policy your organisation requires'),
  passwordAgeUnknown: rule('PASSWORD-AGE-UNKNOWN', 1, 'INFO', 'when a SCRAM password was set is not known (it was set before Parapet recorded it)', 'nothing to fix: the next change (`parapet user passwd`) records its time; until then its age is not judged'),
  passwordAgeUnavailable: rule('PASSWORD-AGE-UNAVAILABLE', 1, 'INFO', 'password age was not checked: the broker did not say when credentials were set', 'scan a Parapet whose admin endpoint serves credential set times (GET /v1/logins); Kafka records no such time'),
  // Who logs in (control 7, access reviews): LOW. An account nobody uses is a credential that can leak
  // and be used without anyone missing it, but it needs that leak to matter, and a new account may
  // simply not have been used yet: hardening for the next access review, not an open door.
  userNeverSeen: rule('USER-NEVER-SEEN', 7, 'LOW', 'a SCRAM user was never seen logging in', 'if nobody needs it, delete it (`parapet user delete NAME`) or lock it (`parapet user disable NAME`); LOW: an unused account is only a risk once its password leaks, and a new one may not have been used yet'),
  userDormant: rule('USER-DORMANT', 7, 'LOW', 'a SCRAM user has not logged in for --unused-days days', 'ask its owner; lock it (`parapet user disable NAME`) or delete it if nobody needs it; `parapet access review` lists its unused grants'),
  loginsUnavailable: rule('LOGIN-REVIEW-UNAVAILABLE', 7, 'INFO', 'the login review did not run: users never seen and password age were not checked', 'scan a Parapet with its access log on, and give its admin endpoint (--admin-url) and a principal that may DESCRIBE the cluster; Kafka records no logins a client can read'),
  loginFailed: rule('SCAN-LOGIN-FAILED', 6, 'INFO', 'the scan could not log in with the client config: the authenticated checks did not run', 'pass --client-config with working credentials'),
  // Broker configuration (controls 3, 5, 6; Parapet's own settings: 2, 3, 4, 6).
  autoCreate: rule('CFG-AUTO-CREATE-TOPICS', 6, 'MEDIUM', 'topics are created by any client that names them (auto.create.topics.enable=true)', 'create topics explicitly (auto.create.topics.enable=false; Parapet: autoCreateTopics false)'),
  minIsr: rule('CFG-MIN-INSYNC-REPLICAS', 6, 'MEDIUM', 'min.insync.replicas is 1: an acknowledged write can live on one disk only', 'min.insync.replicas=2 with replication factor 3'),
  uncleanElection: rule('CFG-UNCLEAN-ELECTION', 6, 'HIGH', 'unclean.leader.election.enable=true: acknowledged writes can be lost', 'set unclean.leader.election.enable=false'),
  plaintextConfigured: rule('CFG-PLAINTEXT-LISTENER', 3, 'HIGH', 'a listener without TLS is configured (maybe not reachable from here)', 'remove PLAINTEXT and SASL_PLAINTEXT listeners'),
  zookeeper: rule('CFG-ZOOKEEPER', 5, 'MEDIUM', 'metadata is kept in ZooKeeper, a second network service to secure', 'migrate to KRaft, or secure ZooKeeper with TLS, SASL and ACLs (zookeeper.set.acl=true)'),
  configsUnavailable: rule('CFG-REVIEW-UNAVAILABLE', 6, 'INFO', 'broker configs could not be read (DescribeConfigs)', 'scan with a client config whose principal may DESCRIBE_CONFIGS the cluster'),
  insecureSetting: rule('SETTING-INSECURE', 6, 'HIGH', 'an insecure setting was asked for by name (allowInsecure…)', 'remove it from the config file; each is explained in docs/configuration.md'),
  encryptionAtRestOff: rule('ENCRYPTION-AT-REST-OFF', 2, 'HIGH', 'encryption at rest is off', 'set encryptionAtRest.provider (local or pkcs11), docs/security/encryption-at-rest.md'),
  auditOff: rule('AUDIT-OFF', 4, 'HIGH', 'the audit trail is off', 'set audit.enabled true (the default)'),
  auditFailOpen: rule('AUDIT-FAIL-OPEN', 4, 'MEDIUM', 'the broker keeps serving when the audit trail cannot be written', 'remove audit.allowInsecureFailOpen'),
  quotasOff: rule('QUOTAS-OFF', 3, 'MEDIUM', 'client quotas are off: one client can take the broker', 'set quotas.enabled true (the default)'),
  // Backups (control 8): a lost disk or a deleted topic is only recoverable from one.
  backupNone: rule('BACKUP-NONE', 8, 'LOW', 'no complete backup of this broker was ever recorded', 'take one with `parapet backup create --to DIR` and schedule it (docs/operations/backup-and-recovery.md)'),
  backupOld: rule('BACKUP-OLD', 8, 'MEDIUM', 'the newest complete backup is older than the policy: what was written since would be lost with the disk', 'check the backup schedule (cron, systemd timer) and its log; `parapet backup list --from DIR`'),
} as const satisfies Record<string, Rule>;
