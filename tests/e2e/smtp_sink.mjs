// smtp_sink.mjs - a tiny SMTP server on loopback that keeps every mail it
// is given, for the tests of mail (mail.test.mjs, password_reset.test.mjs).

import net from 'node:net';

/**
 * Enough SMTP to take a mail: 220, EHLO/HELO 250, MAIL 250, RCPT 250, DATA
 * 354 ... "." 250, RSET/NOOP 250, QUIT 221. failData > 0: the next that many
 * DATA commands are answered 451 (after the data, a temporary failure).
 * With { user, pass } (changeable later through .auth), EHLO offers AUTH
 * PLAIN, MAIL before a successful AUTH is 530, a wrong password 535; every
 * AUTH tried is kept in .logins ({ user, pass, ok }).
 */
export class SmtpSink {
    constructor(auth = null) {
        this.messages = []; // {from, rcpt: [], data}
        this.failData = 0;
        this.dataAttempts = 0;
        this.auth = auth;
        this.logins = [];
        this.server = net.createServer((sock) => this.session(sock));
        this.sockets = new Set();
    }

    start() {
        return new Promise((resolve, reject) => {
            this.server.once('error', reject);
            this.server.listen(0, '127.0.0.1', () => {
                this.port = this.server.address().port;
                resolve(this);
            });
        });
    }

    stop() {
        for (const s of this.sockets) s.destroy();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }

    get url() {
        return `smtp://127.0.0.1:${this.port}`;
    }

    to(addr) {
        return this.messages.filter((m) => m.rcpt.some((r) => r.toLowerCase() === `<${addr.toLowerCase()}>`));
    }

    session(sock) {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
        sock.on('error', () => {});
        let buf = '';
        let inData = false;
        let cur = { from: null, rcpt: [], data: '' };
        let authed = false;
        let authWait = false; // "AUTH PLAIN" sent without its response
        const say = (s) => sock.write(`${s}\r\n`);
        const login = (b64) => {
            const [, user = '', pass = ''] = Buffer.from(b64.trim(), 'base64').toString('utf8').split('\0');
            const ok = !!this.auth && user === this.auth.user && pass === this.auth.pass;
            this.logins.push({ user, pass, ok });
            authed = ok;
            say(ok ? '235 2.7.0 ok' : '535 5.7.8 bad credentials');
        };
        say('220 sink.test ESMTP');
        sock.on('data', (chunk) => {
            buf += chunk.toString('utf8');
            for (;;) {
                if (inData) {
                    const end = buf.indexOf('\r\n.\r\n');
                    const endAtStart = buf.startsWith('.\r\n') ? 0 : -1;
                    if (end < 0 && endAtStart < 0) return;
                    const cut = endAtStart === 0 ? 0 : end + 2;
                    cur.data += buf.slice(0, cut);
                    buf = buf.slice(cut + 3);
                    inData = false;
                    this.dataAttempts++;
                    if (this.failData > 0) {
                        this.failData--;
                        say('451 4.3.0 try again later');
                    } else {
                        // Undo the dot-stuffing the client did.
                        cur.data = cur.data.replace(/^\.\./gm, '.');
                        this.messages.push(cur);
                        say('250 2.0.0 queued');
                    }
                    cur = { from: null, rcpt: [], data: '' };
                    continue;
                }
                const nl = buf.indexOf('\r\n');
                if (nl < 0) return;
                const line = buf.slice(0, nl);
                buf = buf.slice(nl + 2);
                const verb = line.slice(0, 4).toUpperCase();
                if (authWait) {
                    authWait = false;
                    login(line);
                    continue;
                }
                if (verb === 'EHLO' && this.auth) {
                    say('250-sink.test');
                    say('250 AUTH PLAIN');
                } else if (verb === 'EHLO' || verb === 'HELO') say('250 sink.test');
                else if (verb === 'AUTH' && this.auth && /^AUTH PLAIN/i.test(line)) {
                    const ir = line.slice(10).trim();
                    if (ir && ir !== '=') login(ir);
                    else {
                        authWait = true;
                        say('334 ');
                    }
                } else if (verb === 'MAIL' && this.auth && !authed) say('530 5.7.0 authentication required');
                else if (verb === 'MAIL') {
                    cur = { from: line.slice(line.indexOf(':') + 1).trim(), rcpt: [], data: '' };
                    say('250 2.1.0 ok');
                } else if (verb === 'RCPT') {
                    cur.rcpt.push(line.slice(line.indexOf(':') + 1).trim());
                    say('250 2.1.5 ok');
                } else if (verb === 'DATA') {
                    inData = true;
                    say('354 end with .');
                } else if (verb === 'QUIT') {
                    say('221 bye');
                    sock.end();
                    return;
                } else if (verb === 'RSET' || verb === 'NOOP') say('250 ok');
                else say('502 5.5.2 not implemented');
            }
        });
    }
}
