// Reads cron cases (one JSON object per line: schedule, timeZone, after) and answers each with what
// Kubernetes' own parser says: robfig/cron v3's ParseStandard (as the CronJob API validates) and
// Schedule.Next in the zone (as the CronJob controller schedules). The tests compare lib/cron.ts to it.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"time"
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

type query struct {
	Schedule string `json:"schedule"`
	TimeZone string `json:"timeZone"`
	After    string `json:"after"`
}

type answer struct {
	Error string `json:"error,omitempty"`
	Next  string `json:"next,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var q query
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			panic(err)
		}
		_ = out.Encode(ask(q))
	}
}

func ask(q query) (a answer) {
	defer func() {
		if r := recover(); r != nil {
			a = answer{Error: "panic"}
		}
	}()
	if strings.Contains(q.Schedule, "TZ") {
		return answer{Error: "TZ"}
	}
	if _, err := cron.ParseStandard(q.Schedule); err != nil {
		return answer{Error: err.Error()}
	}
	if q.TimeZone == "" {
		return answer{}
	}
	if _, err := time.LoadLocation(q.TimeZone); err != nil {
		return answer{Error: err.Error()}
	}
	// As the CronJob controller does: the zone goes in front of the schedule.
	schedule, err := cron.ParseStandard("TZ=" + q.TimeZone + " " + q.Schedule)
	if err != nil {
		return answer{Error: err.Error()}
	}
	after, err := time.Parse(time.RFC3339, q.After)
	if err != nil {
		panic(err)
	}
	next := schedule.Next(after)
	if next.IsZero() {
		return answer{Next: "never"}
	}
	return answer{Next: next.UTC().Format(time.RFC3339)}
}
