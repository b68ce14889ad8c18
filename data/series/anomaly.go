package series

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/data/external"
)

//go:embed anomaly/sensor-network.csv
var sensorNetwork []byte

// SensorNetworkName names the embedded sensor-network set where a file is
// expected (`loom series detect --csv sensor-network`).
const SensorNetworkName = "sensor-network"

// SensorNetwork parses the embedded single-hop sensor-network readings
// (anomaly/README.md): columns reading, mote_id, indoor, humidity,
// temperature, label.
func SensorNetwork() *Table {
	t, err := ReadTable(bytes.NewReader(sensorNetwork), "sensor-network.csv")
	if err != nil {
		panic(err) // the embedded file is known good
	}
	return t
}

// windowLayouts are the time formats of anomaly windows and time columns.
var windowLayouts = []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"}

func parseWindowTime(s string) (time.Time, error) {
	for _, l := range windowLayouts {
		if t, err := time.Parse(l, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want e.g. 2014-03-14 03:31:00)", s)
}

// WindowLabels labels the rows of t whose time falls in one of windows
// (inclusive [start, end] pairs as NAB's labels/combined_windows.json
// gives them for one file). The table needs a time column.
func WindowLabels(t *Table, windows [][2]string) ([]bool, error) {
	if t.TimeColumn == "" {
		return nil, fmt.Errorf("%s: anomaly windows need a time column (date, timestamp or time)", t.Name)
	}
	type span struct{ a, b time.Time }
	var spans []span
	for _, w := range windows {
		a, err := parseWindowTime(w[0])
		if err != nil {
			return nil, err
		}
		b, err := parseWindowTime(w[1])
		if err != nil {
			return nil, err
		}
		spans = append(spans, span{a, b})
	}
	out := make([]bool, len(t.Times))
	for i, s := range t.Times {
		tm, err := parseWindowTime(s)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d, column %q: %v", t.Name, i+2, t.TimeColumn, err)
		}
		for _, sp := range spans {
			if !tm.Before(sp.a) && !tm.After(sp.b) {
				out[i] = true
			}
		}
	}
	return out, nil
}

// ReadWindowsFile reads NAB-style anomaly windows: a JSON object from file
// names to lists of [start, end] times. It returns the windows of the
// entry whose name is file or ends in "/"+file.
func ReadWindowsFile(path, file string) ([][2]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var all map[string][][2]string
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of file names to [[start, end], …]: %w", path, err)
	}
	for name, w := range all {
		if name == file || strings.HasSuffix(name, "/"+file) {
			return w, nil
		}
	}
	return nil, fmt.Errorf("%s: no windows for %q", path, file)
}

// NABSeries are the Numenta Anomaly Benchmark series `loom repro
// ts-anomaly` uses (realKnownCause/NAME.csv), read from the external data
// set "nab" (package external) with NAB's labels/combined_windows.json
// saved there as combined_windows.json (or only these series' entries).
var NABSeries = []string{"ambient_temperature_system_failure", "cpu_utilization_asg_misconfiguration", "ec2_request_latency_system_failure", "machine_temperature_system_failure", "nyc_taxi"}

// NABOrigin says where NAB's files come from.
const NABOrigin = "the Numenta Anomaly Benchmark (Lavin and Ahmad 2015; numenta/NAB): data/realKnownCause/<name>.csv and labels/combined_windows.json"

// ReadNAB reads one NAB series and labels its points by NAB's windows.
func ReadNAB(name string) (*Table, []bool, error) {
	file := "realKnownCause/" + name + ".csv"
	dir, err := external.Find(external.Set{Name: "nab", Files: []string{file, "combined_windows.json"}, Origin: NABOrigin})
	if err != nil {
		return nil, nil, err
	}
	t, err := ReadTableFile(filepath.Join(dir, file))
	if err != nil {
		return nil, nil, err
	}
	w, err := ReadWindowsFile(filepath.Join(dir, "combined_windows.json"), name+".csv")
	if err != nil {
		return nil, nil, err
	}
	labels, err := WindowLabels(t, w)
	return t, labels, err
}
