package eval

// PassageName identifies divergo's fixed passage in reports. It is divergo's
// own text, written for this project: the model-tracing leaderboard
// (METRICS.md §5.4) scores perplexity on "a fixed test passage about
// artificial intelligence" whose text has not been published, so this is
// NOT that passage and its numbers are not comparable with the
// leaderboard's (Q5.1). Change the version in the name if the text ever
// changes.
const PassageName = "divergo-ai-passage-v1"

// Passage is the fixed passage of `divergo trace --leaderboard` (about 360
// words, plain ASCII, paragraphs separated by blank lines).
const Passage = `Artificial intelligence is the study of how to build machines that carry out tasks which, when people do them, seem to call for thought. Early researchers in the nineteen fifties hoped that a few clever rules would be enough to capture reasoning, and they wrote programs that proved theorems, played checkers and solved puzzles stated in careful logical form. These systems worked well inside their narrow worlds but failed as soon as the problem became messy, because the real world does not arrive as a tidy list of facts.

A different approach slowly gained ground. Instead of writing the rules by hand, engineers collected examples and let a program adjust its own internal numbers until its answers matched the examples. This is called machine learning. A model that recognises handwritten digits, for instance, is shown thousands of labelled images and changes its parameters a little after each mistake. Given enough data and computing power, such models learned to translate text, transcribe speech and describe pictures with surprising accuracy.

Language models are one branch of this work. A language model reads a sequence of words and assigns a probability to every word that could come next. Trained on large collections of books, articles and web pages, these models can continue a sentence, answer questions and summarise long documents. Their quality is often measured by perplexity, which tells how surprised the model is, on average, by the words of a text it has not seen before. A lower perplexity means better predictions.

The same systems raise practical questions. Large models need a great deal of memory and energy, so researchers compress them by storing their numbers with fewer bits or by removing parts that matter little. Others ask whether a released model was derived from another one, whether its answers are fair to different groups of people, and how to explain the reasons behind a particular output. Answering these questions carefully, with clear measurements and open methods, is now as much a part of the field as building the models themselves.
`
