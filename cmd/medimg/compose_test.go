package main

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of docker-compose.yml the monitoring profile depends on.
type composeFile struct {
	Services map[string]struct {
		Profiles    []string          `yaml:"profiles"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestComposeMonitoringProfile checks, without a Docker engine, that the monitoring profile of
// docker-compose.yml fits together: its services are only in that profile, every file it mounts
// exists, Prometheus scrapes the port medimg serves metrics on, Grafana's datasource is that
// Prometheus, and its dashboard provider and home dashboard are where the dashboards are mounted.
func TestComposeMonitoringProfile(t *testing.T) {
	const root = "../.."
	var compose composeFile
	readYAML(t, filepath.Join(root, "docker-compose.yml"), &compose)
	mounts := map[string]string{} // container path → host path, of the monitoring services
	for name, svc := range compose.Services {
		monitoring := name == "prometheus" || name == "grafana"
		if got := slices.Contains(svc.Profiles, "monitoring"); got != monitoring {
			t.Errorf("service %s: in the monitoring profile = %v, want %v", name, got, monitoring)
		}
		for _, v := range svc.Volumes {
			host, container, _ := strings.Cut(v, ":")
			container, _, _ = strings.Cut(container, ":")
			if !strings.HasPrefix(host, "./") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join(root, host)); err != nil {
				t.Errorf("service %s mounts %s, which does not exist", name, host)
			}
			if monitoring {
				mounts[container] = filepath.Join(root, host)
			}
		}
	}
	if len(mounts) < 4 {
		t.Fatalf("the monitoring services mount %d files, want Prometheus's config and rules, Grafana's provisioning and dashboards", len(mounts))
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, mounts["/etc/prometheus/prometheus.yml"], &prom)
	listen := compose.Services["medimg"].Environment["MEDIMG_METRICS_LISTEN"]
	_, port, _ := strings.Cut(listen, ":")
	if len(prom.ScrapeConfigs) != 1 || len(prom.ScrapeConfigs[0].StaticConfigs) != 1 ||
		!slices.Equal(prom.ScrapeConfigs[0].StaticConfigs[0].Targets, []string{"medimg:" + port}) {
		t.Errorf("Prometheus scrapes %+v, want medimg:%s (MEDIMG_METRICS_LISTEN %q)", prom.ScrapeConfigs, port, listen)
	}
	for _, f := range prom.RuleFiles {
		if _, ok := mounts[path.Join("/etc/prometheus", f)]; !ok {
			t.Errorf("Prometheus loads the rule file %s, which is not mounted", f)
		}
	}

	provisioning := mounts["/etc/grafana/provisioning"]
	var datasources struct {
		Datasources []struct{ URL string } `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(provisioning, "datasources", "prometheus.yml"), &datasources)
	if len(datasources.Datasources) != 1 || datasources.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("Grafana's datasources %+v, want the profile's Prometheus at http://prometheus:9090", datasources.Datasources)
	}
	var dashboards struct {
		Providers []struct {
			Options struct{ Path string } `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(provisioning, "dashboards", "medimg.yml"), &dashboards)
	if len(dashboards.Providers) != 1 || mounts[dashboards.Providers[0].Options.Path] == "" {
		t.Errorf("Grafana's dashboard provider %+v does not read the mounted dashboards (%v)", dashboards.Providers, mounts)
	}
	home := compose.Services["grafana"].Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
	dir, file := path.Split(home)
	if _, err := os.Stat(filepath.Join(mounts[strings.TrimSuffix(dir, "/")], file)); err != nil {
		t.Errorf("Grafana's home dashboard %s is not a mounted file: %v", home, err)
	}
}
