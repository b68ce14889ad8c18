package pretok

import (
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
)

const benchProse = `It was late in the afternoon when the committee finally met. Nobody had
read the report, of course; they'd skimmed the summary, argued about the
charts, and decided - as committees do - that the numbers "looked about
right". The chairwoman, who'd spent 23 years in the department, wasn't
convinced. "We're going to approve a budget of $4,750,000 on the strength of
a single slide?" she asked. Silence. Someone coughed. Outside, the rain kept
falling on the car park, and the 5:15 train to Cambridge rattled past.

In the end they voted 7 to 2, with one abstention. The minutes recorded it
as "broad agreement", which was true in the way that most minutes are true:
accurate about what happened, silent about why. I've kept a copy ever since.
`

const benchCode = `// Package cache implements a small LRU cache.
package cache

import (
	"container/list"
	"sync"
)

// Cache is safe for concurrent use.
type Cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key K
	val V
}

func New[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, ll: list.New(), items: make(map[K]*list.Element)}
}

func (c *Cache[K, V]) Get(k K) (v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, hit := c.items[k]; hit {
		c.ll.MoveToFront(e)
		return e.Value.(*entry[K, V]).val, true
	}
	return v, false
}

func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, hit := c.items[k]; hit {
		e.Value.(*entry[K, V]).val = v
		c.ll.MoveToFront(e)
		return
	}
	c.items[k] = c.ll.PushFront(&entry[K, V]{k, v})
	if c.ll.Len() > c.max { // evict 1 entry
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*entry[K, V]).key)
	}
}
`

const benchMultilingual = `Français : L'été dernier, nous sommes allés à la plage près de Nice ; c'était magnifique !
Deutsch: Die Straße war nass, und die Bäume rauschten im Wind. Größe: 1.234,56 €.
Русский: Съешь же ещё этих мягких французских булок, да выпей чаю. В 2023 году.
Ελληνικά: Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.
中文：我们在北京住了三年，每天早上都去公园散步。今天的气温是２５度。
日本語：東京の桜は四月の初めに満開になります。カタカナとひらがなも使います。
한국어: 서울의 지하철은 매우 편리합니다. 오늘은 날씨가 좋네요!
हिन्दी: भारत की राजधानी नई दिल्ली है। हम कल बाज़ार जाएँगे।
العربية: ذهبنا إلى السوق في الصباح، واشترينا الخبز والزيتون.
ไทย: วันนี้อากาศดีมาก เราจะไปเที่ยวทะเลกัน
Emoji: great job 👍🏽 🎉🎉 — love it ❤️ family: 👨‍👩‍👧‍👦 flags: 🇺🇸🇯🇵
`

var (
	benchOnce sync.Once
	benchData string
)

// benchText returns about 100 KB of English prose, Go code and
// multilingual text, in a fixed pseudo-random order.
func benchText() string {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewSource(7))
		parts := []string{benchProse, benchCode, benchMultilingual}
		var b strings.Builder
		for i := 0; b.Len() < 100_000; i++ {
			b.WriteString(parts[rng.Intn(len(parts))])
			fmt.Fprintf(&b, "\n\n%d. ", i+1)
		}
		benchData = b.String()
	})
	return benchData
}

// TestBenchText checks the hand-written splitters on the benchmark text.
func TestBenchText(t *testing.T) {
	for _, s := range splitters {
		checkSplit(t, s.name, s.pattern, s.sp, benchText())
	}
}

// BenchmarkSplit measures each splitter on benchText, hand-written and
// regexp2:
//
//	go test -run '^$' -bench Split ./tokenizer/pretok
func BenchmarkSplit(b *testing.B) {
	text := benchText()
	for _, s := range splitters {
		for _, impl := range []struct {
			name string
			sp   Splitter
		}{
			{"hand", s.sp},
			{"regexp2", reference(b, s.pattern)},
		} {
			b.Run(s.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					impl.sp.Split(text, func(string) { n++ })
				}
			})
		}
	}
}
