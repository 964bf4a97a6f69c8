package server

import (
	"log/slog"
	"net"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/tnt/gateway/cmd/internal/config"
)

// logSetupLink tells the operator, once, how to make the first DBA: the
// one-time setup link of the console, or the CLI. The token rides in the
// link's fragment, which browsers never send to a server, so no access log
// or proxy on the way records it.
func logSetupLink(log *slog.Logger, cfg config.Config, addr, token string) {
	u, err := url.Parse(publicURL(cfg, addr) + "/console/")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		log.Error("GATEWAY_PUBLIC_URL is not an http(s) URL; no setup link is shown: create the first DBA with gatewayctl bootstrap")
		return
	}
	u.Fragment = "setup=" + token
	log.Warn("no level-0 user yet: open the one-time setup link to create the first DBA, or run gatewayctl bootstrap", slog.String("setup_link", u.String()), slog.String("valid_for", config.ShortDuration(cfg.SetupTTL)))
}

// publicURL is the gateway's address as browsers reach it, without a
// trailing slash: GATEWAY_PUBLIC_URL, or http://localhost on the port of
// the listen address addr.
func publicURL(cfg config.Config, addr string) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// version names the build: the module version and the commit it was built
// from, when the toolchain recorded them.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
