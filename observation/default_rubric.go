package observation

// DefaultRubricID is the id of the network's default rubric, owned by NetworkOwner.
const DefaultRubricID = "k8-academic-discourse"

// drText builds a Text in English and Spanish.
func drText(en, es string) Text { return Text{"en": en, "es": es} }

// drLevels builds the four level descriptors of a default-rubric dimension, 1 to 4.
func drLevels(d1, d2, d3, d4 Text) []LevelDescriptor {
	return []LevelDescriptor{
		{Level: 1, Label: drText("Beginning", "Inicial"), Descriptor: d1},
		{Level: 2, Label: drText("Developing", "En proceso"), Descriptor: d2},
		{Level: 3, Label: drText("Proficient", "Logrado"), Descriptor: d3},
		{Level: 4, Label: drText("Exemplary", "Destacado"), Descriptor: d4},
	}
}

// DefaultRubric returns the content of the "K-8 Academic Discourse in Mathematics" rubric in
// English and Spanish. Every call returns a fresh value that the caller may modify.
func DefaultRubric() RubricContent {
	return RubricContent{
		Title: drText("K-8 Academic Discourse in Mathematics",
			"Discurso académico en matemáticas (K-8)"),
		Description: drText(
			"Scores the mathematical discussion of a K-8 lesson on six dimensions, each from 1 to 4, "+
				"and counts the talk moves of the teacher and the students during the discussion.",
			"Valora la discusión matemática de una clase de K-8 en seis dimensiones, cada una del 1 al 4, "+
				"y registra los movimientos discursivos del docente y de los estudiantes durante la discusión."),
		Languages:        []string{"en", "es"},
		MinLevel:         1,
		MaxLevel:         4,
		ProficiencyLevel: 3,
		NotObserved: NotObservedValue{
			Code:  "NO",
			Label: drText("Not observed", "No observado"),
			Description: drText(
				"No whole-class or small-group mathematical discussion was observed",
				"No se observó ninguna discusión matemática con todo el grupo ni en grupos pequeños"),
		},
		Dimensions: []Dimension{
			{
				Key:   "substance",
				Title: drText("Mathematical substance of the talk", "Contenido matemático de la discusión"),
				Levels: drLevels(
					drText("Talk is about answers or steps only.",
						"Solo se habla de respuestas o de los pasos a seguir."),
					drText(`Strategies are described; "why" rarely comes up.`,
						"Se describen las estrategias, pero casi nunca surge el porqué."),
					drText("Why methods work and how representations connect come up regularly.",
						"Con frecuencia se discute por qué funcionan los procedimientos y cómo se relacionan las distintas representaciones."),
					drText("Discussion is organised around a key idea: comparing methods, generalising, or resolving an error.",
						"La discusión gira en torno a una idea central: comparar procedimientos, generalizar o aclarar un error."),
				),
				AllowNotObserved: true,
			},
			{
				Key:   "participation",
				Title: drText("Breadth of participation", "Amplitud de la participación"),
				Levels: drLevels(
					drText("Fewer than about a quarter of students speak, always the same voices.",
						"Habla menos de una cuarta parte del grupo, aproximadamente, y siempre se escuchan las mismas voces."),
					drText("About a quarter to half speak, mostly volunteers.",
						"Habla entre una cuarta parte y la mitad del grupo, aproximadamente, sobre todo quienes levantan la mano."),
					drText("About half to three quarters speak, helped by pair or group talk.",
						"Habla entre la mitad y tres cuartas partes del grupo, aproximadamente, con apoyo del trabajo en parejas o en equipos."),
					drText("More than three quarters speak; the teacher deliberately widens who talks; no group is left out.",
						"Habla más de tres cuartas partes del grupo; el docente busca a propósito que participen más estudiantes y ningún grupo queda fuera."),
				),
				AllowNotObserved: true,
			},
			{
				Key:   "press",
				Title: drText("Teacher press for reasoning", "Exigencia de razonamiento por parte del docente"),
				Levels: drLevels(
					drText("Answers are accepted or corrected without asking for reasons.",
						"Las respuestas se aceptan o se corrigen sin pedir que se justifiquen."),
					drText(`Occasionally asks "how", accepts thin replies.`,
						"De vez en cuando pregunta “¿cómo?”, pero se conforma con respuestas superficiales."),
					drText("Regularly asks students to justify or define, and follows up.",
						"Con regularidad pide a los estudiantes que justifiquen o definan, y da seguimiento a lo que responden."),
					drText("Keeps pressing through follow-up chains; errors become material for discussion.",
						"Sigue indagando con cadenas de preguntas; los errores se aprovechan como material de discusión."),
				),
				AllowNotObserved: true,
			},
			{
				Key:   "explanation",
				Title: drText("Student explanation", "Explicaciones de los estudiantes"),
				Levels: drLevels(
					drText("Single words or numbers.",
						"Responden con palabras sueltas o números."),
					drText("Students recount steps.",
						"Los estudiantes cuentan los pasos que siguieron."),
					drText("Many students give reasons or evidence in mostly precise language.",
						"Muchos estudiantes dan razones o evidencias con un lenguaje preciso la mayor parte del tiempo."),
					drText("Students routinely justify, speak precisely, and revise when challenged.",
						"Los estudiantes justifican de manera habitual, se expresan con precisión y replantean sus ideas cuando se les cuestiona."),
				),
				AllowNotObserved: true,
			},
			{
				Key:   "uptake",
				Title: drText("Linking and uptake of ideas", "Conexión y retoma de las ideas"),
				Levels: drLevels(
					drText("Exchanges are teacher-to-one-student; ideas stay isolated.",
						"Los intercambios son entre el docente y un solo estudiante; las ideas quedan aisladas."),
					drText("Teacher sometimes revoices or connects ideas.",
						"A veces el docente reformula las ideas o las relaciona entre sí."),
					drText("Teacher regularly asks students to agree, add on or restate a peer, and some do.",
						"Con regularidad el docente pide a los estudiantes que digan si están de acuerdo, que agreguen algo o que repitan lo que dijo un compañero, y algunos lo hacen."),
					drText("Students address each other directly and compare or critique strategies with little teacher mediation.",
						"Los estudiantes se dirigen directamente unos a otros y comparan o cuestionan estrategias con poca intervención del docente."),
				),
				AllowNotObserved: true,
			},
			{
				Key:   "ownership",
				Title: drText("Ownership of mathematical ideas", "Apropiación de las ideas matemáticas"),
				Levels: drLevels(
					drText("The teacher is the only source of methods and judge of correctness.",
						"El docente es la única fuente de procedimientos y el único que decide si algo es correcto."),
					drText("Student strategies are elicited, but the teacher validates.",
						"Se piden las estrategias de los estudiantes, pero es el docente quien las valida."),
					drText("Student work is chosen and sequenced to move the lesson.",
						"Se eligen y ordenan trabajos de los estudiantes para hacer avanzar la clase."),
					drText("Students pose questions and judge correctness themselves; authority is shared.",
						"Los estudiantes plantean preguntas y deciden por sí mismos si algo es correcto; la autoridad es compartida."),
				),
				AllowNotObserved: true,
			},
		},
		TallyCategories: []TallyCategory{
			{
				Key:     "keeping_together",
				Speaker: SpeakerTeacher,
				Title:   drText("Keeping everyone together", "Mantener a todo el grupo en la conversación"),
				Description: drText(
					`Checks that students heard and can follow a classmate ("Who can say what she just said?").`,
					"Verifica que los estudiantes escucharon y pueden seguir a un compañero (“¿Quién puede decir lo que acaba de decir ella?”)."),
			},
			{
				Key:     "relating_ideas",
				Speaker: SpeakerTeacher,
				Title: drText("Getting students to relate to another's ideas",
					"Invitar a los estudiantes a responder a las ideas de otros"),
				Description: drText(
					`Asks students to agree, disagree or add on to a classmate's idea ("Do you agree? Why?").`,
					"Pide a los estudiantes que digan si están de acuerdo o no con la idea de un compañero, o que agreguen algo (“¿Estás de acuerdo? ¿Por qué?”)."),
			},
			{
				Key:     "restating",
				Speaker: SpeakerTeacher,
				Title:   drText("Restating", "Repetir"),
				Description: drText(
					"Repeats a student's contribution, word for word or nearly so, so that everyone hears it.",
					"Repite lo que dijo un estudiante, textualmente o casi, para que todos lo escuchen."),
			},
			{
				Key:     "revoicing",
				Speaker: SpeakerTeacher,
				Title:   drText("Revoicing", "Reformular"),
				Description: drText(
					`Rephrases a student's idea in clearer or more mathematical terms and checks it with the student ("So you're saying…?").`,
					"Reformula la idea de un estudiante con palabras más claras o más matemáticas y lo confirma con él (“Entonces, ¿lo que dices es que…?”)."),
			},
			{
				Key:     "press_accuracy",
				Speaker: SpeakerTeacher,
				Title:   drText("Pressing for accuracy", "Pedir precisión"),
				Description: drText(
					`Asks for a precise answer, term or calculation ("What do we call that shape?").`,
					"Pide una respuesta, un término o un cálculo preciso (“¿Cómo se llama esa figura?”)."),
				Measure: MeasurePress,
			},
			{
				Key:     "press_reasoning",
				Speaker: SpeakerTeacher,
				Title:   drText("Pressing for reasoning", "Pedir razonamiento"),
				Description: drText(
					`Asks for an explanation or justification ("Why?", "How do you know?").`,
					"Pide una explicación o una justificación (“¿Por qué?”, “¿Cómo lo sabes?”)."),
				Measure: MeasurePress,
			},
			{
				Key:     "relating_to_student",
				Speaker: SpeakerStudent,
				Title:   drText("Relating to another student", "Responder a otro estudiante"),
				Description: drText(
					"Responds to, agrees or disagrees with, or builds on a classmate's idea.",
					"Responde a la idea de un compañero, dice si está de acuerdo o no con ella, o la amplía."),
			},
			{
				Key:     "asking_for_information",
				Speaker: SpeakerStudent,
				Title:   drText("Asking for more information", "Pedir más información"),
				Description: drText(
					"Asks a classmate or the teacher to explain or clarify.",
					"Pide a un compañero o al docente que explique o aclare algo."),
			},
			{
				Key:     "making_claim",
				Speaker: SpeakerStudent,
				Title:   drText("Making a claim", "Hacer una afirmación"),
				Description: drText(
					"States an answer, a conjecture or a position about the mathematics.",
					"Plantea una respuesta, una conjetura o una postura sobre las matemáticas."),
			},
			{
				Key:     "providing_evidence",
				Speaker: SpeakerStudent,
				Title:   drText("Providing evidence or reasoning", "Dar evidencias o razones"),
				Description: drText(
					"Supports a claim with an explanation, a representation or an example.",
					"Sustenta una afirmación con una explicación, una representación o un ejemplo."),
				Measure: MeasureReasoning,
			},
		},
		Participation: []ParticipationField{
			{
				Key:   "student_group",
				Title: drText("Student group", "Grupo de estudiantes"),
				Description: drText(
					"The speaker's student group, as defined by the district. Never a student's name.",
					"El grupo de estudiantes de quien habla, según lo define el distrito. Nunca el nombre de un estudiante."),
				DistrictDefined: true,
			},
			{
				Key:   "selection",
				Title: drText("Called on or volunteered", "Se le pidió o participó por iniciativa propia"),
				Options: []Option{
					{Key: "called_on", Label: drText("Called on", "Se le pidió participar")},
					{Key: "volunteered", Label: drText("Volunteered", "Participó por iniciativa propia")},
				},
			},
			{
				Key:   "length_band",
				Title: drText("Length of the contribution", "Extensión de la intervención"),
				Options: []Option{
					{Key: "words_1_4", Label: drText("1-4 words", "De 1 a 4 palabras")},
					{Key: "words_5_20", Label: drText("5-20 words", "De 5 a 20 palabras")},
					{Key: "words_21_plus", Label: drText("21 words or more", "21 palabras o más")},
				},
			},
			{
				Key:   "wait_time",
				Title: drText("Wait time", "Tiempo de espera"),
				Description: drText(
					"How long the teacher waited after asking the question before a student answered.",
					"Cuánto tiempo esperó el docente después de hacer la pregunta antes de que respondiera un estudiante."),
				Options: []Option{
					{Key: "under_3s", Label: drText("Less than 3 s", "Menos de 3 s")},
					{Key: "at_least_3s", Label: drText("3 s or more", "3 s o más")},
				},
			},
			{
				Key:   "question_type",
				Title: drText("Question type", "Tipo de pregunta"),
				Description: drText(
					"The kind of question the contribution answered.",
					"El tipo de pregunta al que responde la intervención."),
				Options: []Option{
					{Key: "how", Label: drText("How", "¿Cómo?")},
					{Key: "what", Label: drText("What", "¿Qué?")},
					{Key: "why", Label: drText("Why", "¿Por qué?")},
				},
			},
		},
	}
}
