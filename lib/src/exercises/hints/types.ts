/** An exercise's hints, in two tiers: what a wrong answer shows, and the whole recipe for when the learner asks. */
export interface Hints {
  /** Names the idea the answer needs, without giving it away. */
  nudge: string;
  /** The steps of the answer. */
  recipe: string;
}
